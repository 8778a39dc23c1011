"""optbench.quiet: the CPU other processes use, read from /proc, and a gate that waits for a quiet machine."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from optbench.quiet import ProcSample, QuietGate, QuietOptions, Snapshot, other_cpu, own_processes, parse_stat, read_processes

TICKS = 100.0
RECORDER = 4000


def proc(pid: int, ppid: int, own: int = 0, children: int = 0, *, start: int = 1, cmdline: str = "",
         kernel: bool = False) -> ProcSample:
    return ProcSample(pid=pid, ppid=ppid, start=start, own=own, children=children, cmdline=cmdline, kernel=kernel)


def snap(time: float, *processes: ProcSample) -> Snapshot:
    return Snapshot(time, {p.pid: p for p in processes})


def load(before: Snapshot, after: Snapshot, patterns: tuple[str, ...] = ("/srv/work",)) -> float:
    return other_cpu(before, after, [RECORDER], patterns, TICKS)


# --------------------------------------------------------------------------- /proc


def test_a_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses() -> None:
    line = "1234 (my (odd) name) S 77 1234 1234 0 -1 4194560 10 0 0 0 250 50 30 20 20 0 1 0 98765 0 0 0"
    p = parse_stat(line, "python x.py")
    assert (p.pid, p.ppid, p.own, p.children, p.start) == (1234, 77, 300, 50, 98765)
    assert not p.kernel and p.cmdline == "python x.py"
    kthread = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0 0"
    assert parse_stat(kthread).kernel
    with pytest.raises(ValueError):
        parse_stat("garbage")


def test_this_process_is_among_those_read_from_proc() -> None:
    processes = read_processes()
    me = processes[os.getpid()]
    assert me.ppid == os.getppid() and not me.kernel and "python" in me.cmdline


# --------------------------------------------------------------------------- whose load


def test_own_processes_are_the_recorders_tree_and_the_services_trees() -> None:
    processes = {p.pid: p for p in [
        proc(1, 0), proc(RECORDER, 1), proc(4001, RECORDER, cmdline="sh -c bench.sh"), proc(4002, 4001, cmdline="wrk"),
        proc(700, 1, cmdline="nginx: master process nginx -p /srv/work/"), proc(701, 700, cmdline="nginx: worker process"),
        proc(900, 1, cmdline="pytest"), proc(901, 900, cmdline="nginx: master process nginx -p /tmp/other/"),
    ]}
    assert own_processes(processes, [RECORDER], ["/srv/work"]) == {RECORDER, 4001, 4002, 700, 701}
    assert own_processes(processes, [RECORDER], []) == {RECORDER, 4001, 4002}


def test_only_other_processes_count_as_load() -> None:
    before = snap(0.0, proc(RECORDER, 1, 100), proc(4002, RECORDER, 0, cmdline="wrk"),
                  proc(700, 1, 0, cmdline="mariadbd --defaults-file=/srv/work/conf/my.cnf"),
                  proc(900, 1, 1000, cmdline="pytest"), proc(30, 2, 0, kernel=True))
    after = snap(2.0, proc(RECORDER, 1, 150), proc(4002, RECORDER, 190, cmdline="wrk"),
                 proc(700, 1, 190, cmdline="mariadbd --defaults-file=/srv/work/conf/my.cnf"),
                 proc(900, 1, 1060, cmdline="pytest"), proc(30, 2, 80, kernel=True))
    # pytest used 60 ticks in 2 s at 100 ticks a second: 0.3 CPUs; the rest is the recorder's,
    # the service's or the kernel's
    assert load(before, after) == pytest.approx(0.3)
    assert load(before, after, patterns=()) == pytest.approx(0.3 + 190 / 200)


def test_processes_that_start_or_end_inside_the_window_count() -> None:
    before = snap(0.0, proc(900, 1, 10, 0, cmdline="make"), proc(901, 900, 40, cmdline="cc a.c"))
    # cc a.c (40 ticks by the start) ended with 90 and was reaped by make: make's children's
    # time holds its whole life, of which 50 ticks fall in the window; cc b.c is new (30 ticks)
    after = snap(1.0, proc(900, 1, 10, 90, cmdline="make"), proc(902, 900, 30, start=5, cmdline="cc b.c"))
    assert load(before, after) == pytest.approx((50 + 30) / 100)


def test_a_reused_pid_is_a_new_process() -> None:
    before = snap(0.0, proc(900, 1, 500, start=1, cmdline="old"))
    after = snap(1.0, proc(900, 1, 20, start=9, cmdline="new"))
    assert load(before, after) == pytest.approx(0.2)


def test_orphans_that_init_reaps_are_left_out() -> None:
    # the service's old master, restarted during the window, is reaped by init
    before = snap(0.0, proc(1, 0, 5, 0), proc(700, 1, 300, 900, cmdline="nginx: master process -p /srv/work/"))
    after = snap(1.0, proc(1, 0, 6, 1500), proc(710, 1, 3, start=7, cmdline="nginx: master process -p /srv/work/"))
    assert load(before, after) == pytest.approx(0.01)


def test_an_empty_window_has_no_load() -> None:
    assert load(snap(1.0), snap(1.0)) == 0.0


# --------------------------------------------------------------------------- the gate


class FakeMachine:
    """A clock, a sleep and /proc: one other process using ``busy[i]`` CPUs in the i-th window."""

    def __init__(self, busy: list[float]) -> None:
        self.now = 0.0
        self.ticks = 0
        self.busy: Iterator[float] = iter(busy)
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.ticks += int(round(next(self.busy) * TICKS * seconds))
        self.now += seconds

    def read(self) -> dict[int, ProcSample]:
        return {900: proc(900, 1, self.ticks, cmdline="other work"), RECORDER: proc(RECORDER, 1, 0)}


def gate_for(machine: FakeMachine, said: list[str], **options) -> QuietGate:
    return QuietGate(QuietOptions(**options), say=said.append, read=machine.read, clock=machine.clock,
                     sleep=machine.sleep, roots=[RECORDER], ticks_per_second=TICKS)


def test_the_gate_waits_while_other_processes_are_busy_and_says_so() -> None:
    machine = FakeMachine([1.5, 0.9, 0.6, 0.1])
    said: list[str] = []
    gate = gate_for(machine, said, threshold=0.25, window=2.0)
    assert gate.wait() == pytest.approx(0.1)
    assert machine.slept == [2.0] * 4 and gate.waited == pytest.approx(6.0)
    assert len(said) == 2  # once when it starts waiting (then once a minute), once when quiet
    assert "waiting: other processes use 1.50 CPUs (threshold 0.25)" in said[0]
    assert said[1].startswith("quiet: other processes use 0.10 CPUs")


def test_a_quiet_machine_is_measured_at_once_without_a_word() -> None:
    machine = FakeMachine([0.05])
    said: list[str] = []
    gate = gate_for(machine, said)
    assert gate.wait() == pytest.approx(0.05) and gate.waited == 0 and said == []


def test_the_gate_measures_anyway_after_the_longest_wait() -> None:
    machine = FakeMachine([2.0] * 100)
    said: list[str] = []
    gate = gate_for(machine, said, window=5.0, max_wait=120.0)
    assert gate.wait() == pytest.approx(2.0)
    assert 120 <= gate.waited < 126 and "measuring anyway" in said[-1]
    # told once at the start and once a minute later, not every window
    assert sum("waiting" in s for s in said) == 2


def test_the_load_during_a_measurement() -> None:
    machine = FakeMachine([0.0, 0.8])
    gate = gate_for(machine, [])
    assert gate.finish() is None  # nothing started
    gate.start()
    machine.sleep(3.0)  # a quiet measurement
    assert gate.finish() == pytest.approx(0.0)
    gate.start()
    machine.sleep(3.0)  # other work started meanwhile
    assert gate.finish() == pytest.approx(0.8)
