"""Wide runs: how they are cut into batches, and how their summary reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.decisions.fanout import batches
from chalicelib.values.notifications.runs import run_finished_notification
from chalicelib.values.records import Image, RunOutcome, RunTally, Trigger


@pytest.mark.parametrize(
    ("order", "depends_on", "size", "expected"),
    [
        (["a", "b", "c"], {}, 2, [["a", "b"], ["c"]]),
        (["a", "b", "c", "d", "e"], {}, 10, [["a", "b", "c", "d", "e"]]),
        # b waits for a: they stay together, so b finds a's claim and waits for it.
        (["a", "c", "b"], {"b": ["a"]}, 2, [["a", "b"], ["c"]]),
        # A chain longer than a batch is one batch of its own, in deployment order.
        (["a", "b", "c", "x"], {"b": ["a"], "c": ["b"]}, 2, [["a", "b", "c"], ["x"]]),
        # Dependencies outside the run do not join anything.
        (["b", "c"], {"b": ["a"], "c": ["a"]}, 1, [["b"], ["c"]]),
        # Two services sharing a dependency are one group.
        (["a", "x", "b", "c"], {"b": ["a"], "c": ["a"]}, 3, [["a", "b", "c"], ["x"]]),
    ],
)
def test_batches_keep_dependents_with_their_dependencies(order, depends_on, size, expected):
    assert batches(order, depends_on, size) == expected


def _tally(*statuses: str) -> RunTally:
    image = Image(repository="wso2mi", tag="4.4.0-2", digest="sha256:" + "b" * 64)
    outcomes = {
        f"mi-{i:02d}": RunOutcome(service=f"mi-{i:02d}", status=s, reason="why" if s != "COMPLETED" else "")
        for i, s in enumerate(statuses)
    }  # fmt: skip
    return RunTally(
        run_id="r1", environment="dev", total=len(statuses), remaining=0,
        trigger=Trigger(kind="image", event_id="e1", image=image), outcomes=outcomes,
    )  # fmt: skip


NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("statuses", "subject", "status"),
    [
        (["COMPLETED"] * 3, "[dev] run of 3 services: 3 completed", "COMPLETED"),
        (["COMPLETED", "IGNORED", "SUPERSEDED"],
         "[dev] run of 3 services: 1 completed, 1 ignored, 1 superseded", "COMPLETED"),
        (["COMPLETED", "ROLLED_BACK", "SKIPPED"],
         "[dev] run of 3 services: 1 completed, 1 skipped, 1 rolled back", "ROLLED_BACK"),
        (["FAILED", "ROLLED_BACK", "TIMED_OUT"],
         "[dev] run of 3 services: 1 timed out, 1 rolled back, 1 failed", "FAILED"),
    ],
)  # fmt: skip
def test_a_run_summary_counts_outcomes_and_takes_the_worst_status(statuses, subject, status):
    note = run_finished_notification(_tally(*statuses), NOW)
    assert (note.subject, note.status) == (subject, status)
    assert [o.service for o in note.services] == [f"mi-{i:02d}" for i in range(len(statuses))]
    assert note.text().splitlines()[0] == (
        f"wso2mi:4.4.0-2 pushed: 3 services of dev: {subject.split(': ', 1)[1]}."
    )
