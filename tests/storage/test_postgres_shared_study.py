"""Many workers, one study in PostgreSQL: each LLM round is generated once, nothing is lost.

This is the deployment for several machines: every worker process points at the same
SQLAlchemy URL. The workers here are separate processes on a private PostgreSQL server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

SAMPLER_TESTS = Path(__file__).resolve().parent.parent / "optuna_llm_sampler"
sys.path.insert(0, str(SAMPLER_TESTS))

from llm_fakes import SPACE, read_call_log, round_records, rounds_with_an_owner  # noqa: E402

from optuna_llm_sampler import AlternatingSchedule  # noqa: E402

from optuna_llm_sampler.attrs import ATTR_SOURCE


@pytest.mark.postgres
def test_three_processes_on_one_postgres_study_call_the_model_once_per_round(
    postgres_url: str, tmp_path: Path
) -> None:
    optuna.create_study(study_name="shared-pg", storage=postgres_url, direction="maximize")
    log = str(tmp_path / "calls.jsonl")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SAMPLER_TESTS), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(SAMPLER_TESTS / "llm_fakes.py"), "worker", postgres_url, "shared-pg", "8", log, "0.2"]
    workers = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE) for _ in range(3)]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err.decode()[-3000:]

    study = optuna.load_study(study_name="shared-pg", storage=postgres_url)
    finished = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert len(finished) == 24, [(t.number, t.state.name) for t in study.trials]
    owners = rounds_with_an_owner(study, AlternatingSchedule())
    calls = read_call_log(log)
    assert len(calls) == len(owners) >= 4, "one model call per round, whichever process owns it"
    assert set(round_records(study)) == owners
    assert [t.user_attrs.get(ATTR_SOURCE) for t in study.trials].count("baseline") == 1
    assert sum(t.user_attrs.get(ATTR_SOURCE) == "llm" for t in finished) >= len(owners)
    for trial in finished:
        for name, value in trial.params.items():
            assert SPACE[name]._contains(SPACE[name].to_internal_repr(value))
