"""Choose: whether a model round writes configurations or picks among the base sampler's.

A 135M model writes 14 valid values badly, but it can point at one line of a short list. With
:class:`Choose`, an LLM round asks the base sampler (TPE by default) for ``candidates`` times as
many configurations as the round has trials, shows them numbered in the prompt, and asks the
model for the numbers of the ones to run. Every configuration the model can pick is one the
base sampler would have considered, so a model that knows nothing costs little, and one that
knows the service can steer the search towards what it knows. The candidates themselves are
drawn, shown and read back in :mod:`optuna_llm_sampler._proposal._candidates`.
"""

from __future__ import annotations

import dataclasses

from optuna_llm_sampler._errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Choose:
    """The model picks each of a round's configurations from the base sampler's candidates.

    Each trial it picks records ``llm_choice``: the candidate's number ``picked`` among ``of``
    candidates drawn by ``drawn_by`` (the base sampler's class name).

    Example:

        .. code-block:: python

            import optuna
            from optuna_llm_sampler import Choose, LLMSampler, make_chat_model

            sampler = LLMSampler(
                make_chat_model("random:0"),
                search_space={"x": optuna.distributions.IntDistribution(1, 64)},
                choose=Choose(candidates=4),
            )
            study = optuna.create_study(sampler=sampler)
            study.optimize(lambda t: (t.suggest_int("x", 1, 64) - 24) ** 2, n_trials=8)
            print([t.user_attrs.get("llm_choice") for t in study.trials])

    ``Choose()`` is LLMSampler's default: the model writes its rounds in the base sampler's
    random start-up, where good advice pays most; after it the model picks among the base
    sampler's candidates, so a model that knows nothing costs the base sampler no trials,
    unless the trials it wrote are ahead, and then it goes on writing; every round it writes
    is vetted. Changing one field keeps the others.

    Args:
        candidates:
            Candidates drawn per trial of the round. Default 4: enough for the model's
            knowledge to matter, a list short enough for a small model to read.
        from_trial:
            Rounds that start before this trial number are written by the model; later
            rounds choose. Default 10, TPE's random start-up: before TPE has learnt anything
            its candidates carry no information for a model to choose from, and a model that
            knows the service is worth most there; later, choosing keeps a model that knows
            nothing from taking trials away from TPE's own proposals. 0: every round chooses.
        write_when_ahead:
            With a schedule that records evidence (:class:`~optuna_llm_sampler.AdaptiveSchedule`),
            a round from ``from_trial`` on is still written when the evidence for its block
            says the trials the model wrote are ahead of the base sampler's (``p_written``, or
            ``p_better`` when it has picked none, above one half in the trial's
            ``llm_share``): a model that has shown it knows the service keeps writing values
            the base sampler would not draw; one that has not picks among them. The trials it
            picked do not count here: they are the base sampler's draws, and a model that
            picks well can still write badly. Default :obj:`True`. Schedules that record no
            evidence choose.
        write_after:
            A round that would be written chooses instead while the study has fewer than
            this many complete trials. A small model shown only the baseline copies it, while
            picking among the base sampler's draws costs nothing. Default 0: rounds before
            ``from_trial`` are written from the first trial on.
        vet_writes:
            A round that writes asks the model twice: it writes its configurations, which
            then join the base sampler's draws (``candidates`` per trial in all, the model's
            own at places drawn from the list's contents), and it picks among them. A
            configuration it wrote and picked is a written trial; a draw it picked is a picked
            one (``llm_choice``), and each records the vetting (``llm_vet``). A model that
            writes worse than the base sampler draws can prefer the draws, and one whose
            configurations are better keeps them. If the second call fails or picks nothing,
            the written configurations stand. Default :obj:`True`: a second model call per
            written round.
    """

    candidates: int = 4
    from_trial: int = 10
    write_when_ahead: bool = True
    write_after: int = 0
    vet_writes: bool = True

    def applies_to(self, round_start: int, p_better: float | None = None, complete: int | None = None) -> bool:
        """Whether the round starting at trial ``round_start`` chooses (else it writes).

        ``p_better`` is the schedule's probability that the model's trials are the better
        ones, for the round's block; LLMSampler passes the one for the trials the model wrote
        (``p_written`` when it has also picked), and :obj:`None` when the schedule records
        none or the model has written nothing yet;
        ``complete`` is how many of the study's trials are complete (:obj:`None`: not
        counted, ``write_after`` is not applied).
        """
        if complete is not None and complete < self.write_after:
            return True
        if round_start < self.from_trial:
            return False
        return not (self.write_when_ahead and p_better is not None and p_better > 0.5)

    def __post_init__(self) -> None:
        if isinstance(self.candidates, bool) or not isinstance(self.candidates, int):
            raise ConfigError(f"Choose(candidates=...) must be an int, got {self.candidates!r}")
        if not 2 <= self.candidates <= 20:
            raise ConfigError(
                f"Choose(candidates={self.candidates}) must be between 2 and 20: one candidate "
                "leaves nothing to choose, and a long list is more than a small model reads"
            )
        for flag in ("write_when_ahead", "vet_writes"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"Choose({flag}=...) must be True or False, got {getattr(self, flag)!r}")
        for field in ("from_trial", "write_after"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"Choose({field}=...) must be an int >= 0, got {value!r}")


DEFAULT_CHOOSE = Choose()
"""LLMSampler's ``choose`` when none is given (a preset's ``choose`` may replace it)."""
