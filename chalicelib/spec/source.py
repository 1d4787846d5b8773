"""Safe YAML/JSON loading that remembers where every value came from.

PyYAML's constructors lose positions and expand aliases without bound; here the node tree is
walked by hand so that every field keeps its line and column, duplicate keys are errors, and a
document that expands past a node budget ("billion laughs") is refused instead of eating memory.
The nodes come from libyaml (CSafeLoader, about 9x faster than PyYAML's pure-Python parser, with
the same nodes and marks); a document libyaml refuses is parsed again by the pure loader, so that
every error reads as it always has.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from .located import Located, Path, SourceError

__all__ = ["C_LOADER", "PURE_LOADER", "Located", "Path", "SourceError", "load_document"]

MAX_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 32

PURE_LOADER: type[yaml.SafeLoader] = yaml.SafeLoader
# None where PyYAML was built without libyaml; the pure loader then does everything.
C_LOADER: type[yaml.CSafeLoader] | None = getattr(yaml, "CSafeLoader", None)
Loader = type[yaml.SafeLoader] | type[yaml.CSafeLoader]
# Where the two parsers disagree (found by fuzzing, tests/unit/test_yamlsource.py), the pure
# loader reads the text, so the result never depends on which parser is installed: the
# non-specific tag `!` (a plain scalar to PyYAML, a quoted one to libyaml) and %TAG handles; tabs
# and `#` right after a block scalar's `|`/`>` (libyaml accepts them); the line breaks \r, NEL, LS
# and PS; `?` inside a flow collection (it ends a plain scalar for PyYAML only: the walker checks
# each flow collection's text, as `?` is common in block values such as JDBC URLs); and a document
# that is not a mapping or a sequence (the position of an empty document differs). Specs written
# by people or tools hold none of these, and text that merely looks like them only takes the
# slower way.
PURE_ONLY = re.compile(r"[!%\t\r\x85\u2028\u2029]|[|>][-+0-9]*#")

_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


class _PureOnly(Exception):
    """libyaml may read this document differently from the pure loader (see PURE_ONLY)."""


class _Walker:
    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader, text: str | None) -> None:
        self.loader = loader
        self.text = text  # set when the pure loader's reading must be confirmed (see PURE_ONLY)
        self.marks: dict[Path, tuple[int, int]] = {}
        self.nodes = 0

    def value(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count(node, depth)
        self.marks.setdefault(path, _at(node))
        if isinstance(node, yaml.CollectionNode) and node.flow_style:
            self.confirm_flow(node)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if node.tag == _STR:  # what construct_object returns for it, without its bookkeeping
            return node.value
        scalar = self.loader.construct_object(node, deep=False)
        if isinstance(scalar, bytes):
            raise SourceError("binary (!!binary) values are not allowed", *_at(node))
        return scalar

    def confirm_flow(self, node: yaml.CollectionNode) -> None:
        if self.text is not None and "?" in self.text[node.start_mark.index : node.end_mark.index]:
            raise _PureOnly

    def count(self, node: yaml.Node, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise SourceError(
                f"document expands to more than {MAX_NODES} values (YAML aliases?); refused"
            )
        if depth > MAX_DEPTH:
            raise SourceError(f"document is nested deeper than {MAX_DEPTH} levels", *_at(node))

    def mapping(
        self, node: yaml.MappingNode, path: Path, depth: int, taken: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """The mapping's own keys, then those its merge keys (<<) bring that it lacks (YAML 1.1
        merge: explicit keys win, and of several merged mappings the first that has a key).
        `taken` are keys already set where this mapping is merged: skipped, not walked."""
        result: dict[str, Any] = {}
        seen: set[str] = set()
        merges: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append((key_node, value_node))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError("mapping keys must be plain strings", *_at(key_node))
            key = (
                key_node.value
                if key_node.tag == _STR
                else str(self.loader.construct_object(key_node))
            )
            if key in seen:
                raise SourceError(
                f"duplicate key {key!r}: keep one (YAML would take the last silently)",
                *_at(key_node),
            )
            seen.add(key)
            if key in taken:
                self.count(key_node, depth)  # not walked, but merging it again is work
                continue
            self.marks[(*path, key)] = _at(key_node)
            result[key] = self.value(value_node, (*path, key), depth + 1)
            self.marks[(*path, key)] = _at(key_node)
        for key_node, value_node in merges:
            for source in self.merged(key_node, value_node, depth):
                # Each merged mapping counts, and nests one level deeper: a mapping merging
                # itself, or merges of merges ("billion laughs"), meet the same limits.
                result |= self.mapping(source, path, depth + 1, taken | result.keys())
        return result

    def merged(self, key_node: yaml.Node, value: yaml.Node, depth: int) -> list[yaml.MappingNode]:
        """The mappings a merge key brings: one (`<<: *a`), or a list of them (`<<: [*a, *b]`)."""
        self.count(value, depth)
        listed = value.value if isinstance(value, yaml.SequenceNode) else [value]
        sources = [source for source in listed if isinstance(source, yaml.MappingNode)]
        if len(sources) < len(listed):
            raise SourceError(
                "a merge key (<<) takes a mapping or a list of mappings (<<: *a, <<: [*a, *b])",
                *_at(key_node),
            )
        for collection in (value, *sources):
            if isinstance(collection, yaml.CollectionNode) and collection.flow_style:
                self.confirm_flow(collection)
        return sources


def _at(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_document(raw: bytes, loader: Loader | None = None, *, as_json: bool = False) -> Located:
    """Parse YAML (JSON is a subset) into plain values with positions, or raise SourceError.

    `loader` forces one parser (tests compare them); by default libyaml parses and the pure
    loader words the error when libyaml refuses the document. A document meant as JSON
    (`as_json`, or text that opens with `{`) that neither reads gets JSON's own error.
    """
    text = _text(raw)
    try:
        return _parsed(text, loader)
    except SourceError as exc:
        raise _worded(exc, text, as_json) from None


# A value that starts with `>` or `<` and a digit: a version range YAML reads as a block scalar
# (`>`) or refuses (`<` in a flow); quoting it is the fix.
_UNQUOTED_RANGE = re.compile(r":\s+([<>]=?\s*v?\d[^#]*?)\s*(?:#.*)?$")


def _worded(error: SourceError, text: str, as_json: bool) -> SourceError:
    """The parser's error, said in the terms of what the author wrote: JSON's error for JSON,
    and the fix for an unquoted version range."""
    if as_json or text.lstrip().startswith("{"):
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            hint = _JSON_HINTS.get(exc.msg, "")
            return SourceError(f"invalid JSON: {exc.msg}{hint}", exc.lineno, exc.colno)
        except RecursionError:
            return error
    lines = text.splitlines()
    if error.line is not None and 0 < error.line <= len(lines):
        found = _UNQUOTED_RANGE.search(lines[error.line - 1])
        if found is not None:
            hint = f'; quote a version range: "{found.group(1)}"'
            return SourceError(error.reason + hint, error.line, error.column)
    return error


def _parsed(text: str, loader: Loader | None) -> Located:
    if loader is not None:
        return _load(text, loader)
    if C_LOADER is not None and not PURE_ONLY.search(text):
        try:
            located = _load(text, C_LOADER, confirm=True)
        except (SourceError, _PureOnly):
            pass  # the pure loader below reads it, and words any error as it always has
        else:
            if isinstance(located.data, dict | list):
                return located
    return _load(text, PURE_LOADER)


def _text(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise SourceError(f"file is {len(raw)} bytes; the limit is {MAX_BYTES} bytes (256 KiB)")
    if b"\x00" in raw:
        raise SourceError("file is binary (contains NUL bytes), not YAML or JSON")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"file is not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise SourceError("file is empty")
    return text


# Python's json module's words (json/decoder.py) for the commonest slips, and the fix.
_JSON_HINTS = {
    "Expecting ',' delimiter": ": put a ',' between two entries",
    "Expecting property name enclosed in double quotes": (
        ": quote each key with double quotes, and put no ',' before a closing '}'"
    ),
    "Expecting value": ": a value is missing here (or a ',' stands before a closing ']')",
}
# PyYAML's words for the commonest slips, and what to write instead.
_HINTS = {
    # `image:wso2ei` is one plain scalar, not a key and its value.
    "could not find expected ':'": "; write a space after the colon of each key (key: value)",
    # A line indented deeper than its siblings, or an unquoted value holding ': '.
    "mapping values are not allowed here": (
        "; indent this line as the field above it (or quote a value holding ': ')"
    ),
}


def _load(text: str, loader_class: Loader, confirm: bool = False) -> Located:
    try:
        loader = loader_class(text)
    except yaml.YAMLError as exc:  # the pure reader refuses control characters up front
        raise SourceError(f"invalid YAML: {exc}".splitlines()[0]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise SourceError("file holds no document")
        walker = _Walker(loader, text if confirm else None)
        data = walker.value(node, (), 0)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = f"invalid YAML: {exc.problem or exc.context}"
        if "'\\t'" in reason:
            # PyYAML's words for a tab where indentation is read; YAML indents with spaces only
            # (YAML 1.2, 6.1 "Indentation Spaces": "tab characters must not be used").
            reason += "; YAML indents with spaces only: replace the tab with spaces"
        elif exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
            # The stream ends inside quotes: the quote that opened is the place to fix.
            mark = exc.context_mark
            reason = "invalid YAML: a quoted value is not closed: end it with its opening quote"
        elif exc.problem in _HINTS:
            reason += _HINTS[str(exc.problem)]
            if exc.context == "while scanning a simple key" and exc.context_mark is not None:
                mark = exc.context_mark  # the key's own line, not the one after it
        if mark is None:
            raise SourceError(reason) from None
        raise SourceError(reason, mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise SourceError(f"document is nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    # A small file can expand to far more through aliases; the accepted spec must still fit one
    # DynamoDB item (400 KB), so the expanded document has the file's limit too.
    expanded = len(json.dumps(data, default=str))
    if expanded > MAX_BYTES:
        raise SourceError(
            f"document expands to {expanded} bytes (YAML aliases?); the limit is {MAX_BYTES} "
            "bytes (256 KiB) expanded"
        )
    return Located(data, walker.marks)
