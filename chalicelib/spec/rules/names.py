"""Words the spec's rules share: which variable names look secret, which are valid, and the
"did you mean" hint for a misspelt name."""

from __future__ import annotations

import difflib
import re
import typing

SECRET_LOOKING_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def close_match(word: str, choices: typing.Iterable[str]) -> str | None:
    """The choice `word` most likely misspells, if one is close enough."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = close_match(word, choices)
    return f" (did you mean {close!r}?)" if close else ""
