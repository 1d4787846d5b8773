"""BERTH_NOTIFY_STARTED: each deployment's start ('deploying') is told only on a stage that
opts in; the outcome is told either way (issue 17: by default one sns:Publish less per image
update)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.flows.image_push import on_image_pushed
from chalicelib.settings import Settings
from tests.unit.test_flows import completed, deployed, newer_push  # noqa: F401 - fixture

REQUIRED = {"AWS_REGION": "us-east-1", "BERTH_SPEC_BUCKET": "specs", "BERTH_TOPIC_ARN": "arn:t"}


@pytest.mark.parametrize(
    ("variable", "told"),
    [(None, False), ("", False), ("true", True), ("True", True), ("false", False), ("False", False)],
)
def test_the_setting_is_read_from_the_stage_and_defaults_to_not_telling(variable, told):
    env = REQUIRED | ({"BERTH_NOTIFY_STARTED": variable} if variable else {})
    assert Settings.from_environment(env).notify_started is told


def test_a_setting_that_is_not_a_boolean_is_refused_loudly():
    with pytest.raises(ValidationError, match="notify_started"):
        Settings.from_environment(REQUIRED | {"BERTH_NOTIFY_STARTED": "sometimes"})


def _push(berth) -> list:
    return on_image_pushed(berth, newer_push(berth))


@pytest.mark.parametrize(
    ("notify_started", "subjects"),
    [
        (None, ["[dev] apim 4.7.0-2 deployed"]),  # the default: the outcome alone
        (True, ["[dev] apim 4.7.0-2 deploying", "[dev] apim 4.7.0-2 deployed"]),
        (False, ["[dev] apim 4.7.0-2 deployed"]),
    ],
)
def test_what_reaches_sns_for_a_push(deployed, notify_started, subjects):  # noqa: F811
    if notify_started is not None:
        deployed.settings.notify_started = notify_started

    assert [o.action for o in _push(deployed)] == ["started"]  # started either way
    assert [o.action for o in completed(deployed, "apim")] == ["completed"]

    assert [n.subject for n in deployed.notifier.published] == subjects
    assert [n.status for n in deployed.notifier.published][-1] == "COMPLETED"
