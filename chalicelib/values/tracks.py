"""Tags and tracks: which tags a service follows (a glob or a version range) and which is newest.

Tags look like `4.7.0-3` or `4.7.0-3-a1b2c3d` (product version, build number, commit). Strict
semver would read `-3` as a pre-release and compare `10-x` < `7-x` as text, so versions here are
the run of leading numeric components: 4.7.0-10 = (4, 7, 0, 10) > (4, 7, 0, 9).
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime

from .live import TaggedImage

_LEADING_NUMBERS = re.compile(r"^v?(\d+(?:[.-]\d+)*)")
_COMPARATOR = re.compile(r"^(>=|<=|>|<|=|==|~|\^)?\s*v?(\d+(?:[.-]\d+)*)(?:\.[x*])?$")
_RANGE_CHARS = set("<>=~^")
# `>= 4.7.0`: a comparator parted from its version reads as two comparators, the first empty.
_SPACED = re.compile(r"(>=|<=|==|>|<|=|~|\^)\s+(v?\d[\w.*-]*)")


def version_key(tag: str) -> tuple[int, ...] | None:
    """The numeric version a tag carries, or None when it carries none (`latest`, `main`)."""
    match = _LEADING_NUMBERS.match(tag)
    if not match:
        return None
    return tuple(int(p) for p in re.split(r"[.-]", match.group(1)))


def compare_versions(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    width = max(len(a), len(b))
    pa, pb = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return (pa > pb) - (pa < pb)


def _comparator_holds(version: tuple[int, ...], op: str, bound: tuple[int, ...]) -> bool:
    if op in ("~", "^"):
        # ~4.7 -> >=4.7 <4.8 ; ^4.7 -> >=4.7 <5 (the npm/Cargo meanings people know)
        keep = min(len(bound), 2) if op == "~" else 1
        upper = (*bound[: keep - 1], bound[keep - 1] + 1)
        return compare_versions(version, bound) >= 0 and compare_versions(version, upper) < 0
    if op in ("", "=", "=="):
        return version[: len(bound)] == bound
    result = compare_versions(version, bound)
    return {">": result > 0, ">=": result >= 0, "<": result < 0, "<=": result <= 0}[op]


def is_range(track: str) -> bool:
    return any(c in _RANGE_CHARS for c in track)


def track_problem(track: str) -> str | None:
    """Why a track cannot be used, or None when it is valid."""
    if not is_range(track):
        return None
    spaced = _SPACED.search(track)
    if spaced is not None:
        op, version = spaced.group(1), spaced.group(2)
        return f"{spaced.group(0)!r}: remove the space after {op} ('{op}{version}')"
    for part in re.split(r"[\s,]+", track.strip()):
        if part and not _COMPARATOR.match(part):
            return f"{part!r} is not a version comparator (e.g. '>=4.7.0 <5', '~4.7', '^4')"
    return None


def tag_matches(tag: str, track: str) -> bool:
    """Does a pushed tag follow a track? Globs match the whole tag; ranges compare versions."""
    if not is_range(track):
        return fnmatch.fnmatchcase(tag, track)
    version = version_key(tag)
    if version is None:
        return False
    for part in re.split(r"[\s,]+", track.strip()):
        if not part:
            continue
        match = _COMPARATOR.match(part)
        if match is None:
            return False
        op, bound_text = match.group(1) or "", match.group(2)
        bound = tuple(int(p) for p in re.split(r"[.-]", bound_text))
        if not _comparator_holds(version, op, bound):
            return False
    return True


def newest(tags: list[tuple[str, datetime]]) -> str | None:
    """The newest of (tag, pushed_at): by version where tags carry one, then by push time."""
    if not tags:
        return None

    def key(item: tuple[str, datetime]) -> tuple[int, tuple[int, ...], datetime]:
        version = version_key(item[0])
        return (1 if version is not None else 0, version or (), item[1])

    # Pad versions so (4, 7) and (4, 7, 0) compare as equals.
    width = max(len(version_key(t) or ()) for t, _ in tags)

    def padded(item: tuple[str, datetime]) -> tuple[int, tuple[int, ...], datetime]:
        has, version, when = key(item)
        return has, version + (0,) * (width - len(version)), when

    return max(tags, key=padded)[0]


def newest_matching(images: list[TaggedImage], track: str) -> TaggedImage | None:
    """The newest image whose tag follows `track`."""
    matching = {image.tag: image for image in images if tag_matches(image.tag, track)}
    chosen = newest([(image.tag, image.pushed_at) for image in matching.values()])
    return matching[chosen] if chosen is not None else None
