"""The runner when the machine fails it: a full disk under the study's storage.

The storage lives on a 2 MiB tmpfs mounted in a private mount namespace (``unshare -rm``,
skipped where the kernel does not allow it); the benchmark fills it on its third call, so the
third trial's result cannot be stored. The run must set the original values back, say so in
one error line naming the cause, and exit 1; once space is freed, the same command resumes.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from toy_project import ORIGINAL, Toy, copy_toy


def can_mount_a_tmpfs(tmp_path: Path) -> bool:
    target = tmp_path / "probe"
    target.mkdir()
    try:
        done = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k none {target}"],
                              capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.mark.timeout(240)
def test_a_full_disk_stops_the_run_with_one_error_the_values_set_back_and_resume_works(tmp_path: Path) -> None:
    if not can_mount_a_tmpfs(tmp_path):
        pytest.skip("cannot mount a tmpfs in a private mount namespace here (unshare -rm)")
    toy: Toy = copy_toy(tmp_path)
    full = tmp_path / "full"
    full.mkdir()
    (toy.root / "fill.sh").write_text(
        "echo call >> fill.log\n"
        f'if [ "$(wc -l < fill.log)" -eq 3 ]; then dd if=/dev/zero of={full}/filler bs=4k 2>/dev/null; fi\n'
        "sh bench.sh\n")
    text = toy.client_path().read_text().replace('benchmark: "sh bench.sh"', 'benchmark: "sh fill.sh"')
    toy.client_path("fill_client.yaml").write_text(text)
    storage = f"sqlite:///{full}/study.db"
    first = shlex.join(toy.cli_args("--trials", "5", "--storage", storage, client="fill_client.yaml"))
    again = shlex.join(toy.cli_args("--trials", "5", "--storage", storage))
    script = (
        f"mount -t tmpfs -o size=2m none {full} || exit 99\n"
        f"cd {toy.root}\n"
        f"{first} > first.out 2> first.err; echo $? > first.rc\n"
        "cp service.conf conf_after_first; cp running.conf running_after_first\n"
        f"rm -f {full}/filler\n"
        f"{again} > again.out 2> again.err; echo $? > again.rc\n"
        f"cp {full}/study.db kept.db\n"
    )
    subprocess.run(["unshare", "-rm", "sh", "-c", script], timeout=220, check=True)
    out, err = (toy.root / "first.out").read_text(), (toy.root / "first.err").read_text()
    assert (toy.root / "first.rc").read_text().strip() == "1", out + err
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("atune-bridge tune: error: the run stopped: the storage"), err
    assert "database or disk is full (the disk is full: free space, then run the same command again to resume)" in errors[0]
    assert errors[0].endswith("left applied: original values")
    assert "Traceback" not in out + err
    assert toy._kv("conf_after_first") == ORIGINAL and toy._kv("running_after_first")["workers"] == ORIGINAL["workers"]
    assert (toy.root / "again.rc").read_text().strip() == "0", (toy.root / "again.err").read_text()
    import optuna

    trials = optuna.load_study(study_name="toy", storage=f"sqlite:///{toy.root / 'kept.db'}").trials
    assert len(trials) == 5 and trials[0].user_attrs["source"] == "baseline"
    assert [t.state.name for t in trials[:2]] == ["COMPLETE", "COMPLETE"]  # measured before the disk filled
    assert toy.conf() == ORIGINAL
