"""The tolerant YAML reader: valid YAML as is, known faults repaired and recorded."""

from __future__ import annotations

import pytest
import yaml

from atune_bridge._format._yaml import load_tolerant


def test_valid_yaml_is_read_as_is_without_repairs() -> None:
    result = load_tolerant("a: 1\nb: [1, 2]\n")
    assert result.data == {"a": 1, "b": [1, 2]} and result.repairs == [] and result.item_errors == []


def test_double_quotes_inside_a_double_quoted_value_are_kept_literally() -> None:
    result = load_tolerant('get: "awk -F ":" \'{print $2}\'"\n')
    assert result.data == {"get": "awk -F \":\" '{print $2}'"}
    assert result.repairs == [
        "line 1: double quotes inside a double-quoted value; read the text between the outer quotes literally"
    ]


def test_list_items_indented_differently_are_read_one_by_one() -> None:
    text = "object:\n  -\n    name: a\n    info: {x: 1}\n   -\n     name: b\n     info: {x: 2}\n"
    result = load_tolerant(text)
    assert [o["name"] for o in result.data["object"]] == ["a", "b"]
    assert "indented differently" in result.repairs[0]


def test_an_item_that_still_fails_is_reported_with_name_and_line_and_the_others_load() -> None:
    text = "object:\n  -\n    name: a\n    info: {x: 1}\n -\n    name: b\n    info: {x: [1\n"
    result = load_tolerant(text)
    assert result.data["object"][0]["name"] == "a" and result.data["object"][1] is None
    (error,) = result.item_errors
    assert (error.section, error.index, error.name) == ("object", 1, "b")
    assert error.line >= 6


def test_text_that_is_not_yaml_at_all_raises_with_a_line() -> None:
    with pytest.raises(yaml.YAMLError, match="line"):
        load_tolerant("a: [1, 2\nb: {\n")
