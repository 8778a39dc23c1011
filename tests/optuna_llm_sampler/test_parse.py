"""The reply parser finds configurations however the model wrapped them."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
import pytest

from optuna_llm_sampler._proposal._parse import Candidate
from optuna_llm_sampler._proposal._parse import parse_reply


NAMES = ["x", "y", "mode"]


def kinds(result) -> list[str]:
    return [n.kind for n in result.notes]


def test_plain_json_with_configurations_list() -> None:
    text = json.dumps(
        {"configurations": [{"params": {"x": 1, "y": 0.5}, "rationale": "small"}, {"params": {"x": 2}}]}
    )
    result = parse_reply(text, NAMES)
    assert result.candidates == [Candidate({"x": 1, "y": 0.5}, "small"), Candidate({"x": 2}, "")]
    assert result.notes == []


def test_json_in_a_code_fence_between_prose() -> None:
    text = 'Sure, here you go:\n```json\n{"params": {"x": 3}, "rationale": "r"}\n```\nHope it helps.'
    result = parse_reply(text, NAMES)
    assert result.candidates == [Candidate({"x": 3}, "r")]
    assert "extracted" in kinds(result)


def test_json_in_prose_without_fence() -> None:
    text = 'I recommend {"x": 4, "y": 0.1, "reason": "cheap"} because it is cheap.'
    result = parse_reply(text, NAMES)
    assert result.candidates == [Candidate({"x": 4, "y": 0.1}, "cheap")]


def test_a_bare_list_of_flat_objects() -> None:
    result = parse_reply('[{"x": 1}, {"x": 2, "rationale": "b"}]', NAMES)
    assert result.candidates == [Candidate({"x": 1}), Candidate({"x": 2}, "b")]


def test_one_flat_object_is_one_candidate() -> None:
    assert parse_reply('{"x": 1, "y": 2, "mode": "a"}', NAMES).candidates == [
        Candidate({"x": 1, "y": 2, "mode": "a"})
    ]


def test_seed_experiments_values_list_is_read_positionally() -> None:
    result = parse_reply('{"values": [45000, 0.3, "1"]}', NAMES)
    assert result.candidates == [Candidate({"x": 45000, "y": 0.3, "mode": "1"})]
    assert "positional" in kinds(result)


def test_a_values_list_of_the_wrong_length_is_unusable() -> None:
    result = parse_reply('{"values": [1, 2]}', NAMES)
    assert result.candidates == []
    assert "unusable" in kinds(result)


def test_truncated_json_keeps_the_complete_configurations_only() -> None:
    text = (
        '{"configurations": [{"params": {"x": 1, "y": 0.5}, "rationale": "a"}, '
        '{"params": {"x": 2, "y": 0.2'
    )
    result = parse_reply(text, NAMES)
    # The cut-off "y": 0.2 could be 0.25 -- it is dropped; "x": 2 was followed by a comma.
    assert result.candidates == [Candidate({"x": 1, "y": 0.5}, "a"), Candidate({"x": 2})]
    assert "truncated" in kinds(result)


def test_truncated_inside_a_string() -> None:
    text = '```json\n{"configurations": [{"params": {"x": 7}, "rationale": "because the cac'
    result = parse_reply(text, NAMES)
    assert result.candidates == [Candidate({"x": 7})]


def test_python_literals_and_trailing_commas() -> None:
    assert parse_reply("{'x': 1, 'mode': None, 'flag': True}", NAMES).candidates == [
        Candidate({"x": 1, "mode": None, "flag": True})
    ]
    result = parse_reply('{"x": 1, "y": 2,}', NAMES)
    assert result.candidates == [Candidate({"x": 1, "y": 2})]
    assert "syntax" in kinds(result)


@pytest.mark.parametrize(
    "garbage",
    ["", "   ", "I cannot help with that.", "{not json at all", "[]", "{}", "42", '"x"', "null", "}{]["],
)
def test_garbage_gives_no_candidates(garbage: str) -> None:
    assert parse_reply(garbage, NAMES).candidates == []


@given(st.text(max_size=300))
def test_never_raises_on_any_text(text: str) -> None:
    result = parse_reply(text, NAMES)
    assert all(isinstance(c.params, dict) for c in result.candidates)


@given(
    st.lists(
        st.fixed_dictionaries(
            {"x": st.integers(-10, 10), "y": st.floats(allow_nan=False, allow_infinity=False)}
        ),
        min_size=1,
        max_size=4,
    ),
    st.text(alphabet=st.characters(blacklist_characters="{}[]\"'`"), max_size=40),
)
def test_round_trips_any_configurations_wrapped_in_prose(configs, prose) -> None:
    payload = json.dumps({"configurations": [{"params": c, "rationale": "r"} for c in configs]})
    result = parse_reply(f"{prose}\n```json\n{payload}\n```\n{prose}", NAMES)
    assert [c.params for c in result.candidates] == configs


def test_extraction_is_noted_only_when_there_is_text_around_the_json() -> None:
    assert "extracted" in kinds(parse_reply('{"x": 1} hope this helps', NAMES))
    assert "extracted" not in kinds(parse_reply('{"x": 1, "y": [1, 2', NAMES))
