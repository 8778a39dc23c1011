"""Measuring on a quiet machine: the CPU that *other* processes use, and a gate that waits for it.

On a machine shared with other work, a benchmark measured while that work runs is slower by
an amount that has nothing to do with the configuration measured: noise that a recorded
surface then keeps for ever. :class:`QuietGate` keeps it out. Before each measurement it
watches the CPU time of every process outside the recorder's own (the recorder and its
descendants, which run the load generator, and the service under test, found by its command
line) for a short window, and waits while those processes use more than a threshold. Over the
measurement itself it watches again, so that a measurement during which other work started
can be taken again.

The load is read from ``/proc``: each process's own CPU time (``utime + stime``) and that of
its reaped children (``cutime + cstime``), so that short-lived processes (a compiler, a test's
subprocess) count too. A child that was seen at the window's start and was reaped during it
would have its whole life counted in its parent's children's time; the part seen at the
start is taken off. Kernel threads are left out (they do the I/O and networking of every
process, the measured service's included), and so are the children that the first process
(``init``) reaps: the orphans it collects include the measured service's old processes after
each restart.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PF_KTHREAD = 0x00200000  # the kernel's flag for its own threads (include/linux/sched.h)


@dataclass(frozen=True)
class ProcSample:
    """One process as ``/proc/PID/stat`` shows it; CPU times in clock ticks."""

    pid: int
    ppid: int
    start: int
    own: int
    children: int
    cmdline: str = ""
    kernel: bool = False


@dataclass(frozen=True)
class Snapshot:
    """Every process at one moment (``time`` in seconds of a monotonic clock)."""

    time: float
    processes: Mapping[int, ProcSample]


def parse_stat(text: str, cmdline: str = "") -> ProcSample:
    """A :class:`ProcSample` from the text of ``/proc/PID/stat``.

    The command name (field 2) may hold spaces and parentheses, so the fields are counted
    from its last closing parenthesis.

    Raises:
        ValueError: the text is not a stat line.
    """
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    if not head or len(fields) < 20:
        raise ValueError(f"not a /proc/PID/stat line: {text[:80]!r}")
    pid = int(head.split("(", 1)[0])
    # fields[0] is field 3 (state): field n of proc(5) is fields[n - 3]
    return ProcSample(
        pid=pid, ppid=int(fields[1]), start=int(fields[19]),
        own=int(fields[11]) + int(fields[12]), children=int(fields[13]) + int(fields[14]),
        cmdline=cmdline, kernel=bool(int(fields[6]) & _PF_KTHREAD),
    )


def read_processes(proc: Path = Path("/proc")) -> dict[int, ProcSample]:
    """Every process now; one that ends while it is read is left out."""
    out: dict[int, ProcSample] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            sample = parse_stat(stat, cmdline)
        except (OSError, ValueError):
            continue
        out[sample.pid] = sample
    return out


def snapshot(read: Callable[[], Mapping[int, ProcSample]] = read_processes,
             clock: Callable[[], float] = time.monotonic) -> Snapshot:
    return Snapshot(clock(), dict(read()))


def own_processes(processes: Mapping[int, ProcSample], roots: Iterable[int], patterns: Sequence[str]) -> set[int]:
    """The pids in the process trees of ``roots`` and of every process whose command line
    holds one of ``patterns``."""
    children: dict[int, list[int]] = {}
    for p in processes.values():
        children.setdefault(p.ppid, []).append(p.pid)
    todo = [pid for pid in roots if pid in processes]
    todo += [p.pid for p in processes.values() if any(s and s in p.cmdline for s in patterns)]
    mine: set[int] = set()
    while todo:
        pid = todo.pop()
        if pid not in mine:
            mine.add(pid)
            todo.extend(children.get(pid, ()))
    return mine


def other_cpu(before: Snapshot, after: Snapshot, roots: Iterable[int], patterns: Sequence[str],
              ticks_per_second: float) -> float:
    """CPUs (1.0 = one core busy) that processes outside the recorder's and the service's
    used between two snapshots."""
    roots = list(roots)
    seconds = after.time - before.time
    if seconds <= 0:
        return 0.0
    mine = own_processes(after.processes, roots, patterns) | own_processes(before.processes, roots, patterns)

    def same(pid: int) -> bool:
        a, b = before.processes.get(pid), after.processes.get(pid)
        return a is not None and b is not None and a.start == b.start

    # What a vanished process had used by the window's start shows up again, whole, in the
    # children's time of the surviving ancestor that reaped it: take it off there.
    reaped_before: dict[int, int] = {}
    for pid, p in before.processes.items():
        if same(pid) or p.kernel:
            continue
        ancestor, hops = p.ppid, 0
        while ancestor in before.processes and not same(ancestor) and hops < 64:
            ancestor, hops = before.processes[ancestor].ppid, hops + 1
        reaped_before[ancestor] = reaped_before.get(ancestor, 0) + p.own + p.children

    ticks = 0
    for pid, p in after.processes.items():
        if p.kernel or pid in mine:
            continue
        if same(pid):
            b = before.processes[pid]
            own, children = p.own - b.own, p.children - b.children
        else:  # started during the window
            own, children = p.own, p.children
        if pid == 1:
            children = 0  # init reaps every orphan, the measured service's old processes included
        children = max(0, children - reaped_before.get(pid, 0))
        ticks += max(0, own) + children
    return ticks / ticks_per_second / seconds


@dataclass(frozen=True)
class QuietOptions:
    """When the machine counts as quiet, and how long to wait for it.

    Args:
        threshold: CPUs (1.0 = one core) that other processes may use; above it the gate
            waits, and a measurement during which they used more is taken again. 0.25 is an
            eighth of a 2-core machine: an idle desktop session stays well below it, a test
            suite or a build well above.
        window: Seconds of each check before a measurement (the load is an average over it).
        max_wait: Seconds to wait for a quiet window before measuring anyway (the load is
            recorded beside the measurement, so a loaded one can be told apart).
        retakes: How often one planned measurement is taken again because the machine was
            busy during it; after that the last one is kept, its load recorded.
        own: Substrings of the command lines of the measured service's processes (its work
            folder, say), counted as the recorder's own with all their descendants. The
            recorder's own process tree (which runs the load generator) is always its own.
    """

    threshold: float = 0.25
    window: float = 2.0
    max_wait: float = 1800.0
    retakes: int = 5
    own: tuple[str, ...] = ()


class QuietGate:
    """Waits for other processes to leave the CPU before a measurement, and tells how much
    they used during it.

    Example:
        >>> gate = QuietGate(QuietOptions(threshold=0.25, own=("/srv/study-work",)))  # doctest: +SKIP
        >>> before = gate.wait()       # returns once a check window stays below 0.25 CPUs
        >>> gate.start()               # ... measure ...
        >>> during = gate.finish()     # CPUs other processes used while measuring

    Args:
        options: The threshold, the windows and the service's command lines.
        say: Where the waiting is told (the recorder prints it).
        read, clock, sleep: ``/proc``, the monotonic clock and sleeping, replaced in tests.
        roots: Processes whose trees are the recorder's own (default: this process).
        ticks_per_second: The clock ticks of ``/proc``'s CPU times.
    """

    def __init__(self, options: QuietOptions, *, say: Callable[[str], None] = print,
                 read: Callable[[], Mapping[int, ProcSample]] = read_processes,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 roots: Sequence[int] | None = None, ticks_per_second: float | None = None) -> None:
        self.options = options
        self._say = say
        self._read = read
        self._clock = clock
        self._sleep = sleep
        self._roots = list(roots) if roots is not None else [os.getpid()]
        self._ticks = ticks_per_second or float(os.sysconf("SC_CLK_TCK"))
        self._started: Snapshot | None = None
        self.waited = 0.0
        """Seconds the last :meth:`wait` waited beyond its first check."""

    def load(self, before: Snapshot, after: Snapshot) -> float:
        return other_cpu(before, after, self._roots, self.options.own, self._ticks)

    def measure(self, seconds: float) -> float:
        """The CPUs other processes use over the next ``seconds``."""
        before = snapshot(self._read, self._clock)
        self._sleep(seconds)
        return self.load(before, snapshot(self._read, self._clock))

    def wait(self) -> float:
        """Check windows until one is quiet or ``max_wait`` has passed; the last window's load."""
        began = self._clock()
        told = None
        while True:
            load = self.measure(self.options.window)
            self.waited = self._clock() - began - self.options.window
            if load <= self.options.threshold:
                if told is not None:
                    self._say(f"quiet: other processes use {load:.2f} CPUs; measuring after {self.waited:.0f} s")
                return load
            if self.waited >= self.options.max_wait:
                self._say(f"still busy after {self.waited:.0f} s (other processes use {load:.2f} CPUs): "
                          "measuring anyway; the load is recorded beside the measurement")
                return load
            if told is None or self._clock() - told >= 60:
                self._say(f"waiting: other processes use {load:.2f} CPUs (threshold {self.options.threshold:.2f}); "
                          f"waited {self.waited:.0f} s")
                told = self._clock()

    def start(self) -> None:
        """Mark the start of a measurement."""
        self._started = snapshot(self._read, self._clock)

    def finish(self) -> float | None:
        """CPUs other processes used since :meth:`start` (``None`` when it was not called)."""
        if self._started is None:
            return None
        load = self.load(self._started, snapshot(self._read, self._clock))
        self._started = None
        return load
