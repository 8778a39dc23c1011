"""The model round: one LLM round of a study, from its owner's trial to the enqueued proposals.

:class:`ModelRounds` decides which trial asks the model for a round, checks the budget,
builds the prompt, calls the model (or takes the call made ahead), reads and repairs the
reply, has the model vet what it wrote, gives the owner its configuration and enqueues the
rest, and records every step on the trials and the study. It never imports the sampler:
:class:`~optuna_llm_sampler.LLMSampler` builds it from its options and hands it each LLM trial.
Imports every room below it (records, model, proposal, policy) and
:mod:`optuna_llm_sampler._errors`.
"""

from optuna_llm_sampler._round._rounds import ModelRounds
from optuna_llm_sampler._round._rounds import RoundSettings


__all__ = ["ModelRounds", "RoundSettings"]
