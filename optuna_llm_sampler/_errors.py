"""Exception classes raised by :mod:`optuna_llm_sampler`.

Each names the input at fault: the schedule argument, the model spec, the missing extra or
environment variable, the parameter of the search space.
"""

from __future__ import annotations


class LLMSamplerError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(LLMSamplerError, ValueError):
    """An option was given a value it cannot take.

    Raised by the option classes (a schedule, :class:`~optuna_llm_sampler.Choose`,
    :class:`~optuna_llm_sampler.Screen`, :class:`~optuna_llm_sampler.Evidence`,
    :class:`~optuna_llm_sampler.ModelBudget`, :class:`~optuna_llm_sampler.PromptConfig`) and
    by :class:`~optuna_llm_sampler.LLMSampler` for options that do not go together; the message
    names the option, the field, the value and what it may be.
    """


class SearchError(ConfigError):
    """A base search's name is unknown, or the search cannot run here (PyTorch missing for a
    Gaussian process); the message names the searches there are."""


class SearchSpaceError(LLMSamplerError, ValueError):
    """The ``search_space``, ``descriptions`` or ``baseline`` argument is malformed.

    The message names the offending parameter.
    """


class ModelSpecError(LLMSamplerError, ValueError):
    """A spec passed to :func:`~optuna_llm_sampler.make_chat_model` cannot be understood."""


class MissingDependencyError(LLMSamplerError, ImportError):
    """An optional dependency of a model provider is not installed.

    Attributes:
        extra: The name of the extra of ``optuna-llm-sampler`` that installs it.
    """

    def __init__(self, what: str, extra: str) -> None:
        self.extra = extra
        super().__init__(
            f"{what} needs an optional dependency that is not installed; "
            f"install it with: pip install 'optuna-llm-sampler[{extra}]'"
        )


class MissingCredentialError(LLMSamplerError, RuntimeError):
    """A model provider needs an API key that is not set.

    Attributes:
        variable: The environment variable to set.
    """

    def __init__(self, what: str, variable: str) -> None:
        self.variable = variable
        super().__init__(f"{what} needs an API key: set the environment variable {variable}")


class ModelCallError(LLMSamplerError, RuntimeError):
    """The chat model raised, or returned something that is not a message."""


class ModelTimeoutError(LLMSamplerError, TimeoutError):
    """The chat model did not answer within the sampler's ``timeout``."""


class ModelPickleError(LLMSamplerError, TypeError):
    """The sampler's model can neither be pickled nor rebuilt from the spec it was made from.

    Raised when an :class:`~optuna_llm_sampler.LLMSampler` is pickled (Ray Tune pickles its
    searcher) or unpickled; the message names the model class and the cause.
    """
