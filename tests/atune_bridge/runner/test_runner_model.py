"""The runner with its default sampler: LLMSampler over TPE with the offline SmolLM2 model.

Slow (one model round, about a minute on two cores): marked ``model``. What the runner
guarantees is checked: the model is consulted through the sampler it builds, each LLM round's
outcome is recorded on the trials, LLM proposals pass the gate and are measured, and the
original values come back. Whether the 135M model's reply is usable (it often repeats the
baseline, which the sampler rejects) belongs to the sampler's own model tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from optuna.trial import TrialState

from toy_project import ORIGINAL, copy_toy


@pytest.mark.model
@pytest.mark.timeout(900)
def test_the_local_model_is_consulted_and_its_round_is_recorded(tmp_path: Path) -> None:
    toy = copy_toy(tmp_path)
    knowledge = tmp_path / "knowledge.txt"
    knowledge.write_text("The toy service is fastest with about 6 workers and a 512 MB cache.\n")
    toy.runner(llm="local", n_trials=8, knowledge=str(knowledge), seed=0).run()
    trials = toy.study().trials
    sources = [t.user_attrs.get("source") for t in trials]
    assert len(trials) == 8 and sources[0] == "baseline"
    # trial 7 owns the first LLM round (the default schedule gives the model trial 7 alone of
    # the start-up, after six of TPE's draws)
    owner = trials[7].user_attrs
    assert owner.get("llm_round") == 7 and owner.get("llm_proposed_by") == 7
    assert "SmolLM2" in str(owner.get("llm_model")) and owner.get("llm_prompt_chars", 0) > 0
    slots = [t for t in trials[1:] if t.user_attrs.get("llm_share", {}).get("role") == "llm"]
    assert slots and slots[0].number == 7
    for trial in slots:
        attrs = trial.user_attrs
        if attrs.get("source") == "llm":
            assert attrs.get("llm_rationale") is not None
            # a proposal passes the gate and is measured, or fails for a reason of its own
            assert trial.state is TrialState.COMPLETE or not attrs["fail_reason"].startswith("refused")
        else:
            assert attrs.get("llm_error") or attrs.get("llm_note"), attrs  # why the base sampler took it
    print("sources:", sources, "| round 7:", owner.get("llm_error") or owner.get("llm_rationale"))
    assert toy.conf() == ORIGINAL
