"""The private PostgreSQL server the shared-storage tests use really answers."""

from __future__ import annotations

import optuna
import pytest


@pytest.mark.postgres
def test_an_optuna_study_lives_in_the_private_postgres_server(postgres_url: str) -> None:
    study = optuna.create_study(storage=postgres_url, study_name="fixture-check")
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=3)
    again = optuna.load_study(storage=postgres_url, study_name="fixture-check")
    assert len(again.trials) == 3
    assert postgres_url.startswith("postgresql")
