"""libyaml and PyYAML's pure loader give the same data and positions; errors read as they always did."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import yamlsource
from chalicelib.yamlsource import C_LOADER, PURE_LOADER, Located, SourceError, load_document
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(C_LOADER is None, reason="PyYAML was built without libyaml")

DOCUMENTS = sorted(
    [p for p in (ROOT / "examples").rglob("*") if p.suffix in (".yaml", ".yml", ".json")]
    + [p for p in (ROOT / "tests" / "corpus" / "specs").iterdir() if p.is_file()]
)


def _outcome(raw: bytes, loader: yamlsource.Loader | None) -> Located | tuple[object, ...]:
    try:
        return load_document(raw, loader)
    except SourceError as exc:
        return (exc.reason, exc.line, exc.column)


def _same(raw: bytes) -> None:
    """The default (libyaml, the pure loader for errors) gives exactly what the pure loader gives,
    data, positions and error; libyaml alone gives the same data and positions where it accepts,
    and refuses what the pure loader refuses (in its own words)."""
    assert C_LOADER is not None
    pure = _outcome(raw, PURE_LOADER)
    assert _outcome(raw, None) == pure
    # libyaml reads these differently (yamlsource.PURE_ONLY; `?` in flow collections)
    if yamlsource.PURE_ONLY.search(raw.decode(errors="replace")) or b"?" in raw:
        return
    fast = _outcome(raw, C_LOADER)
    if isinstance(pure, Located) and isinstance(fast, Located):
        if not isinstance(pure.data, dict | list):
            return  # an empty document's position differs: the default asks the pure loader
        assert (fast.data, fast.marks) == (pure.data, pure.marks)
    elif isinstance(pure, tuple):
        assert isinstance(fast, tuple)
    # libyaml refusing what the pure loader reads (`{1:}`) is harmless: the default then asks
    # the pure loader, as the first assertion checks.


def test_the_documents_compared_include_the_examples_and_the_corpus():
    assert any(p.parent.name == "examples" for p in DOCUMENTS)
    assert sum(p.parent.name == "specs" for p in DOCUMENTS) >= 100


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_both_loaders_give_identical_data_and_positions(path: Path):
    _same(path.read_bytes())


@settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab1:- \n\t[]{},&*!<%TAG'\"#|>?é\u2028\r")), max_size=99)
)
def test_both_loaders_agree_on_arbitrary_yaml_like_text(text: str):
    _same(text.encode())


def test_an_error_is_worded_by_the_pure_loader():
    raw = b"a: [1\n"
    with pytest.raises(SourceError) as pure:
        load_document(raw, PURE_LOADER)
    with pytest.raises(SourceError) as default:
        load_document(raw)
    assert (default.value.reason, default.value.line, default.value.column) == (
        pure.value.reason,
        pure.value.line,
        pure.value.column,
    )
