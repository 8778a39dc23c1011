"""The run-level claim on a study: one process at a time drives the service a study tunes.

A run (``tune``, or ``restore``) takes the claim before anything touches the service, before
the first ``get``, and holds it until the original values are back: the model call inside
``study.ask()``, the re-ranking and the confirmation are all inside it. A second run on the
same study is refused with :class:`~atune_bridge.StudyBusyError` naming the holder, before it
reads or sets anything.

The claim has two parts:

* **A lock file held with** ``flock(2)``, next to a SQLite file (``.<file>.claim-<hash>``) or,
  for other storages, in a private folder of the user's runtime directory. The kernel lets go
  of it when its process dies, however it dies (``kill -9`` included), so a successor takes
  over at once, and a process that later gets the dead holder's id holds nothing. The file
  holds the holder's identity, for the refusal message; it is removed on release.
* **A record in the study** (user attribute :data:`STUDY_CLAIM`): host, process id, the
  process's start time (``/proc/PID/stat``) and boot id, when the claim was taken, and a
  heartbeat renewed every :data:`HEARTBEAT_SECONDS`. On this host a recorded holder is alive
  only while a process with its id *and its start time* runs. A study shared by runners on
  several hosts (a database server) is guarded by the heartbeat: another host's record holds
  while its heartbeat is younger than :data:`LEASE_SECONDS`. Two hosts starting in the same
  instant on a study without a record are not told apart; the lock file covers this host.

Imports the runner's ``_errors`` only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import socket
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atune_bridge._runner._errors import StudyBusyError

if TYPE_CHECKING:
    import optuna

logger = logging.getLogger(__name__)

STUDY_CLAIM = "atune_bridge:claim"
"""The study user attribute naming the run that holds the study (None when none does)."""

HEARTBEAT_SECONDS = 30.0
"""How often the holder renews the heartbeat of its record."""
LEASE_SECONDS = 120.0
"""How long another host's record holds the study after its last heartbeat."""


# --------------------------------------------------------------------------- identity


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (``/proc/PID/stat`` field 22);
    None when no such process runs (a zombie counts as gone) or /proc cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    # fields[0] is field 3 (the state); the start time is field 22.
    if len(fields) < 20 or fields[0] == "Z":
        return None
    try:
        return int(fields[19])
    except ValueError:
        return None


def _ticks_to_time(ticks: int) -> str:
    """A process start in clock ticks since boot, as local wall-clock time."""
    try:
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        started = time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return "?"
    return datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Holder:
    """Who holds a claim, as written in the lock file and the study's record."""

    host: str
    pid: int
    started: int | None
    boot: str
    purpose: str
    since: float
    heartbeat: float

    @classmethod
    def me(cls, purpose: str) -> Holder:
        now = time.time()
        return cls(socket.gethostname(), os.getpid(), process_start(os.getpid()), _boot_id(), purpose, now, now)

    @classmethod
    def parse(cls, data: Any) -> Holder | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                str(data["host"]),
                int(data["pid"]),
                None if data.get("started") is None else int(data["started"]),
                str(data.get("boot", "")),
                str(data.get("purpose", "tune")),
                float(data.get("since", 0.0)),
                float(data.get("heartbeat", 0.0)),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "pid": self.pid,
            "started": self.started,
            "boot": self.boot,
            "purpose": self.purpose,
            "since": self.since,
            "heartbeat": self.heartbeat,
        }

    def same_process(self, other: Holder) -> bool:
        return (self.host, self.pid, self.started, self.boot) == (other.host, other.pid, other.started, other.boot)

    def alive(self) -> bool:
        """Whether the holder still runs: by id and start time on this host (and this boot),
        by the age of its heartbeat on another."""
        if self.host == socket.gethostname():
            if self.boot and self.boot != _boot_id():
                return False  # recorded before this machine last booted
            started = process_start(self.pid)
            return started is not None and (self.started is None or started == self.started)
        return time.time() - self.heartbeat < LEASE_SECONDS

    def describe(self) -> str:
        since = datetime.fromtimestamp(self.since).strftime("%Y-%m-%d %H:%M:%S") if self.since else "?"
        started = _ticks_to_time(self.started) if self.started is not None else "?"
        where = "this host" if self.host == socket.gethostname() else f"host {self.host}"
        text = (
            f"`atune-bridge {self.purpose}`, process {self.pid} on {where} "
            f"(started {started}, holding the study since {since})"
        )
        if self.host != socket.gethostname():
            text += f", last heartbeat {max(0.0, time.time() - self.heartbeat):.0f} s ago"
        return text


# --------------------------------------------------------------------------- the claim


def _lock_path(storage_url: str, study_name: str) -> Path:
    """Where the lock file of ``study_name`` in ``storage_url`` lives (see the module doc)."""
    digest = hashlib.sha256(study_name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    if storage_url.startswith("sqlite:///"):
        path = storage_url[len("sqlite:///") :].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            db = Path(os.path.realpath(path))
            return db.parent / f".{db.name}.claim-{digest}"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    folder = Path(runtime) / f"atune-bridge-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise OSError(errno.EPERM, "not a private folder of this user (another user made it?)", str(folder))
    key = hashlib.sha256(f"{storage_url}\0{study_name}".encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return folder / f"claim-{key}"


class StudyClaim:
    """The claim of one run on one study (see the module doc).

    Example:
        >>> import tempfile
        >>> from atune_bridge._runner._claim import StudyClaim
        >>> url = f"sqlite:///{tempfile.mkdtemp()}/demo.db"
        >>> first = StudyClaim(url, "demo", "tune")
        >>> first.lock()
        >>> StudyClaim(url, "demo", "tune").lock()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        atune_bridge._runner._errors.StudyBusyError: study 'demo' in sqlite:///...: another run holds it: ...
        >>> first.release()
        >>> again = StudyClaim(url, "demo", "tune")
        >>> again.lock()  # free again
        >>> again.release()
    """

    def __init__(self, storage_url: str, study_name: str, purpose: str) -> None:
        self.storage_url = storage_url
        self.study_name = study_name
        self.me = Holder.me(purpose)
        self.taken_over: Holder | None = None
        """The earlier holder, gone without releasing, that this claim took over from."""
        self._fd: int | None = None
        self._path: Path | None = None
        self._study: tuple[optuna.storages.BaseStorage, int] | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def _busy(self, holder: Holder | None) -> StudyBusyError:
        who = holder.describe() if holder is not None else "a process on this host"
        pid = f" (kill {holder.pid})" if holder is not None and holder.host == self.me.host else ""
        return StudyBusyError(
            f"study {self.study_name!r} in {self.storage_url}: another run holds it: {who}. "
            f"A run sets the original values back when it ends: wait for it, or stop it{pid}. "
            "Nothing was read or set by this one"
        )

    def lock(self) -> None:
        """Take the lock file; the first step of a run, before the storage is opened.

        Raises:
            StudyBusyError: another live process holds it.
        """
        path = _lock_path(self.storage_url, self.study_name)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = self._read_holder(fd)
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                raise self._busy(holder) from None
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder removed the file between our open and our lock: again
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(self.me.to_dict()).encode())
        self._fd, self._path = fd, path

    @staticmethod
    def _read_holder(fd: int) -> Holder | None:
        try:
            return Holder.parse(json.loads(os.pread(fd, 4096, 0) or b"null"))
        except (OSError, ValueError):
            return None

    def check(self, attrs: dict[str, Any]) -> None:
        """Refuse when the study's record names another live holder; note a dead one taken over.

        Raises:
            StudyBusyError: the record names a live holder other than this process.
        """
        holder = Holder.parse(attrs.get(STUDY_CLAIM))
        if holder is None or holder.same_process(self.me):
            return
        if holder.alive():
            self.release()
            raise self._busy(holder)
        if self.taken_over is not None and self.taken_over.same_process(holder):
            return
        self.taken_over = holder
        logger.warning(
            "study %r: taking over from %s, which ended without letting go of it", self.study_name, holder.describe()
        )

    def record(self, storage: optuna.storages.BaseStorage, study_id: int) -> None:
        """Write this run's record on the study (after :meth:`check`) and keep its heartbeat.

        Raises:
            StudyBusyError: a record written meanwhile names another live holder.
        """
        self.check(storage.get_study_user_attrs(study_id))
        storage.set_study_user_attr(study_id, STUDY_CLAIM, self.me.to_dict())
        self._study = (storage, study_id)
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name="atune-bridge-claim", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        failed = False
        while not self._stop.wait(HEARTBEAT_SECONDS):
            assert self._study is not None
            storage, study_id = self._study
            record = dict(self.me.to_dict(), heartbeat=time.time())
            try:
                storage.set_study_user_attr(study_id, STUDY_CLAIM, record)
                failed = False
            except Exception as exc:  # a heartbeat missed is no reason to stop the run
                if not failed:
                    logger.warning("could not renew the study's claim record: %s: %s", type(exc).__name__, exc)
                failed = True

    def release(self) -> None:
        """Let go: the record cleared (when it can be written), the lock file removed and unlocked."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(5)
            self._heartbeat = None
        if self._study is not None:
            storage, study_id = self._study
            self._study = None
            try:
                storage.set_study_user_attr(study_id, STUDY_CLAIM, None)
            except Exception as exc:  # a full disk: the record names a process that is gone
                logger.debug("could not clear the study's claim record: %s: %s", type(exc).__name__, exc)
        if self._fd is not None:
            assert self._path is not None
            with contextlib.suppress(OSError):
                os.unlink(self._path)  # while locked: a newcomer locks a fresh file
            os.close(self._fd)
            self._fd = self._path = None
