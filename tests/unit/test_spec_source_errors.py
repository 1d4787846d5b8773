"""The first-hour parse errors of issue 19, as `berth validate` prints them: JSON's own error for
JSON, and the fix for an unquoted version range."""

from __future__ import annotations

import pytest

from chalicelib.errors import SpecError
from chalicelib.spec import parse_spec


def problems(text: str, file: str) -> list[str]:
    with pytest.raises(SpecError) as error:
        parse_spec(text.encode(), file)
    return [str(p) for p in error.value.problems]


def test_a_json_syntax_error_is_called_a_json_error():
    assert problems('{"berth": 1, "environment": "dev" "cluster": "c"}', "wso2.json") == [
        "wso2.json:1:35: invalid JSON: Expecting ',' delimiter"
    ]


def test_a_json_file_is_read_as_json_whatever_it_opens_with():
    assert problems('[\n  "berth": 1\n', "wso2.json") == [
        "wso2.json:2:10: invalid JSON: Expecting ',' delimiter"
    ]


def test_a_document_opening_with_a_brace_is_json_even_in_a_yaml_file():
    assert problems('{"berth": 1,\n "services": {]}\n', "wso2.yaml") == [
        "wso2.yaml:2:15: invalid JSON: Expecting property name enclosed in double quotes"
    ]


def test_yaml_errors_stay_yaml_errors():
    assert problems("berth: 1\nservices: [\n", "wso2.yaml") == [
        "wso2.yaml:3:1: invalid YAML: expected the node content, but found '<stream end>'"
    ]


def test_an_unquoted_version_range_gets_a_hint_to_quote_it():
    text = "berth: 1\nservices:\n  apim:\n    image: {repository: wso2am}\n    track: >=4.4.0 <5\n"
    assert problems(text, "wso2.yaml") == [
        "wso2.yaml:5:13: invalid YAML: expected chomping or indentation indicators, but found "
        "'='; quote a version range: \">=4.4.0 <5\""
    ]
