"""Tag tracks and the "never older than what runs" rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.decisions.push import RunningImage, judge_push
from chalicelib.values.tracks import newest, tag_matches, track_problem, version_key

T0 = datetime(2026, 1, 1, tzinfo=UTC)
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.mark.parametrize(
    ("tag", "track", "expected"),
    [
        ("4.7.0-3", "4.7.*", True),
        ("4.8.0-1", "4.7.*", False),
        ("latest", "*", True),
        ("4.7.0-3-a1b2c3d", "~4.7", True),
        ("4.8.0", "~4.7", False),
        ("4.9.1", "^4", True),
        ("5.0.0", "^4", False),
        ("4.4.2", ">=4.4.0 <5", True),
        ("4.3.9", ">=4.4.0 <5", False),
        ("main", ">=1", False),
        ("4.7.0-10", ">4.7.0-9", True),
    ],
)
def test_tracks(tag, track, expected):
    assert tag_matches(tag, track) is expected


def test_build_numbers_compare_as_numbers_not_text():
    assert version_key("4.7.0-10-abc") > version_key("4.7.0-9-def")
    assert newest([("4.7.0-9", T0), ("4.7.0-10", T0 - timedelta(days=1))]) == "4.7.0-10"


def test_unversioned_tags_fall_back_to_push_time():
    assert newest([("main-b", T0), ("main-a", T0 + timedelta(seconds=1))]) == "main-a"


def test_invalid_range_is_explained():
    assert (
        track_problem(">=4.7 <<5")
        == "'<<5' is not a version comparator (e.g. '>=4.7.0 <5', '~4.7', '^4')"
    )
    assert track_problem("4.7.*") is None


def test_judge_push():
    running = RunningImage("4.7.0-4", D1, T0)
    assert judge_push("~4.7", "4.7.0-5", D2, T0, running).deploy
    assert (
        judge_push("~4.7", "4.7.0-2", D2, T0, running).reason
        == "4.7.0-2 is older than the running 4.7.0-4"
    )
    assert judge_push("~4.7", "4.7.0-9", D1, T0, running).reason.endswith(
        "is already the running image"
    )
    assert (
        judge_push("~4.7", "4.8.0-1", D2, T0, running).reason
        == "tag 4.8.0-1 does not follow track '~4.7'"
    )
    assert judge_push("*", "4.7.0-1", D2, T0, None).deploy
    unversioned = RunningImage("main", D1, T0)
    assert not judge_push("*", "dev", D2, T0 - timedelta(minutes=1), unversioned).deploy
    assert judge_push("*", "dev", D2, T0 + timedelta(minutes=1), unversioned).deploy
