"""The proposal: from the study's history to a prompt, and from the reply to valid trials.

The prompt and its parts (knowledge, search space, history, evidence), the candidates of a
round that chooses, the lenient parsing of the reply, and its repair against the
distributions. Imports the records and model rooms and :mod:`optuna_llm_sampler._errors`.
"""
