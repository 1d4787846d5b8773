"""Retiring a service: the decision per live service, and the spec's own rules."""

from __future__ import annotations

import pytest

from chalicelib.decisions.retire import RetireAction, retirement
from chalicelib.values.live import LiveService
from tests.unit.test_spec import VALID, errors_of


def _live(tags: dict[str, str]) -> LiveService:
    return LiveService(
        arn="arn:aws:ecs:us-east-1:1:service/wso2-dev/ei", task_definition_arn="td:1",
        primary_deployment_id="ecs-svc/1", primary_rollout_state="COMPLETED",
        launch_type="FARGATE", description={}, tags=tags,
    )  # fmt: skip


OURS = {"berth:environment": "dev"}


@pytest.mark.parametrize(
    ("how", "live", "before", "expected"),
    [
        ("delete", None, None, RetireAction("none", "ei does not run; nothing to retire")),
        ("keep", None, "keep", RetireAction("none", "ei does not run; nothing to retire")),
        ("delete", _live(OURS), None, RetireAction("delete", "ei is retired: scaled to 0 and deleted")),
        ("delete", _live(OURS), "keep", RetireAction("delete", "ei is retired: scaled to 0 and deleted")),
        ("keep", _live(OURS), None,
         RetireAction("keep", "ei is retired: left running, no longer deployed by Berth")),
        ("keep", _live(OURS), "delete",
         RetireAction("keep", "ei is retired: left running, no longer deployed by Berth")),
        ("keep", _live(OURS), "keep", RetireAction("none", "ei was already left running, unmanaged")),
        ("delete", _live({"berth:environment": "prod"}), None, RetireAction(
            "refuse", "the live service wso2-dev/ei belongs to environment prod "
            "(berth:environment); a dev spec cannot change it")),
    ],
)  # fmt: skip
def test_retirement_follows_the_live_service_and_the_previous_spec(how, live, before, expected):
    assert retirement(
        environment="dev", name="ei", how=how, live=live, retired_before=before
    ) == expected


def test_an_untagged_service_listed_for_adoption_may_be_retired():
    action = retirement(
        environment="dev", name="ei", how="delete", live=_live({}), retired_before=None,
        adoptable=frozenset({"wso2-dev/ei"}),
    )  # fmt: skip
    assert action.kind == "delete"


def test_a_service_both_deployed_and_retired_is_refused_where_it_is_retired():
    text = VALID + "retire:\n  ei: delete\n"
    assert errors_of(text) == [
        "specs/prod.yaml:26:3: retire.ei: ei is also under services: a service is deployed or "
        "retired, not both; remove it from one of them"
    ]


def test_retire_takes_only_delete_or_keep():
    assert errors_of(VALID + "retire:\n  old: stop\n") == [
        "specs/prod.yaml:26:3: retire.old: 'stop': write one of 'delete' or 'keep'"
    ]
