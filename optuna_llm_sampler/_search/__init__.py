"""The base searches: the samplers LLMSampler hands the trials its model does not write.

A space-filling design (:class:`SobolSampler`); Optuna's Gaussian process without listing
the values of a wide knob (:class:`RoundedGPSampler`); TPE and that Gaussian process started
from the design rather than from random draws (:class:`SobolTPESampler`,
:class:`SobolGPSampler`); Nevergrad's optimisers (:class:`NevergradSampler`, with
``nevergrad`` installed); samplers taking turns (:class:`InTurnsSampler`); and the named searches (:func:`make_search`, ``--search NAME``
on the command line). This sub-package imports only Optuna, NumPy, SciPy and
:mod:`optuna_llm_sampler._errors`.
"""

from __future__ import annotations

from optuna_llm_sampler._search._gp import RoundedGPSampler
from optuna_llm_sampler._search._nevergrad import NevergradSampler
from optuna_llm_sampler._search._registry import DEFAULT_SEARCH
from optuna_llm_sampler._search._registry import make_search
from optuna_llm_sampler._search._registry import SEARCHES
from optuna_llm_sampler._search._registry import search_names
from optuna_llm_sampler._errors import SearchError
from optuna_llm_sampler._search._sobol import SobolSampler
from optuna_llm_sampler._search._start import SobolGPSampler
from optuna_llm_sampler._search._start import SobolTPESampler
from optuna_llm_sampler._search._turns import InTurnsSampler


__all__ = [
    "DEFAULT_SEARCH",
    "InTurnsSampler",
    "NevergradSampler",
    "RoundedGPSampler",
    "SEARCHES",
    "SearchError",
    "SobolGPSampler",
    "SobolSampler",
    "SobolTPESampler",
    "make_search",
    "search_names",
]
