"""libyaml and PyYAML's pure loader give the same data and positions; errors read as they always did."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.spec import source as yamlsource
from chalicelib.spec.source import C_LOADER, PURE_LOADER, Located, SourceError, load_document
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


# ---- YAML merge keys (<<), as YAML 1.1 defines them -------------------------------------------


@pytest.mark.parametrize("loader", [PURE_LOADER, C_LOADER], ids=["pure", "libyaml"])
def test_merged_values_keep_the_anchors_positions_and_explicit_keys_win(loader):
    raw = b"d: &d {cpu: 1024, memory: 2048}\nx:\n  <<: *d\n  memory: 4096\n"
    located = load_document(raw, loader)
    assert located.data["x"] == {"memory": 4096, "cpu": 1024}
    assert located.position(("x", "cpu")) == (1, 8)  # in the anchor
    assert located.position(("x", "memory")) == (4, 3)  # the explicit key


def test_of_several_merged_mappings_the_first_that_has_a_key_wins():
    raw = b"a: &a {k: 1}\nb: &b {k: 2, j: 2}\nx: {<<: [*a, *b]}\n"
    located = load_document(raw)
    assert located.data["x"] == {"k": 1, "j": 2}
    assert (located.position(("x", "k")), located.position(("x", "j"))) == ((1, 8), (2, 14))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b"x: {<<: 1}\n",
            ("a merge key (<<) takes a mapping or a list of mappings (<<: *a, <<: [*a, *b])", 1, 5),
        ),
        (b"a: &a {<<: *a}\n", ("document is nested deeper than 32 levels", 1, 4)),
    ],
)
def test_a_bad_or_recursive_merge_is_refused(raw, expected):
    with pytest.raises(SourceError) as error:
        load_document(raw)
    assert (error.value.reason, error.value.line, error.value.column) == expected


def test_merges_of_merges_meet_the_alias_limit():
    lines = ["a: &a {k: 1}"]
    for name, prev in zip("bcdefghi", "abcdefgh", strict=True):
        lines.append(f"{name}: &{name} {{<<: [{', '.join(['*' + prev] * 9)}]}}")
    with pytest.raises(SourceError) as error:
        load_document("\n".join(lines).encode())
    assert error.value.reason == (
        "document expands to more than 20000 values (YAML aliases?); refused"
    )
