"""The policy: who proposes each trial and how the model's rounds are used.

Schedules (fixed ones and the adaptive share), whether a round writes or chooses
(``Choose``), screening the model's configurations with a surrogate, the model's budget, and
model calls made ahead of their round. Imports the records, model and proposal rooms and
:mod:`optuna_llm_sampler._errors`.
"""
