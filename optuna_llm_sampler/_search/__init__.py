"""The base searches: the samplers LLMSampler hands the trials its model does not write.

A space-filling start (:class:`SobolSampler`), a hand-over from one sampler to another
(:class:`StartupSampler`), Optuna's Gaussian process without listing the values of a wide
knob (:class:`RoundedGPSampler`), and the searches built from them. This sub-package imports only
Optuna, NumPy, SciPy and :mod:`optuna_llm_sampler._errors`.
"""

from __future__ import annotations

from optuna_llm_sampler._search._gp import RoundedGPSampler
from optuna_llm_sampler._search._sobol import SobolSampler
from optuna_llm_sampler._search._startup import StartupSampler


__all__ = ["RoundedGPSampler", "SobolSampler", "StartupSampler"]
