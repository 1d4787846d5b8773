"""The examples' Micro Integrator service was called `ei` and is now `mi`: an environment deployed
from an older example takes the new one as docs/lifecycle.md says of a renamed service."""

from __future__ import annotations

from typing import Any

import yaml

from berth.sandbox.sandbox import example_spec
from tests.integration.helpers import statuses


def _example(sandbox) -> dict[str, Any]:
    return dict(yaml.safe_load(sandbox.adapt_spec(example_spec())))


def _as_before_the_rename(document: dict[str, Any]) -> str:
    ei = document["services"].pop("mi")
    ei["environment"]["MI_HOSTNAME"] = "ei"
    ei["serviceConnect"]["offers"] = [{"port": 8253, "name": "ei"}]
    document["services"]["ei"] = ei
    return yaml.safe_dump(document, sort_keys=False)


def _status(sandbox, service: str) -> str:
    ecs = sandbox.client("ecs")
    return str(ecs.describe_services(cluster="wso2-dev", services=[service])["services"][0]["status"])


def _deployed_before_the_rename(sandbox) -> None:
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(_as_before_the_rename(_example(sandbox)))
    sandbox.run_until_idle()
    assert statuses(sandbox) == [("apim", "COMPLETED"), ("ei", "COMPLETED")]
    sandbox.notifications.clear()


def test_the_examples_name_the_mi_service_after_what_it_runs(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()
    sandbox.collect_notifications()
    assert [n.subject for n in sandbox.notifications] == [
        "[dev] apim 4.7.0-1 deployed",
        "[dev] mi 4.4.0-1 deployed",
    ]


def test_the_renamed_example_with_retire_replaces_the_old_service(sandbox):
    # Given an environment deployed from an example of before the rename (service ei)
    _deployed_before_the_rename(sandbox)
    # When today's example is uploaded with the old name retired, as docs/lifecycle.md says
    document = _example(sandbox)
    document["retire"] = {"ei": "delete"}
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    # Then ei is deleted, mi runs in its place, and both are told
    assert (_status(sandbox, "ei"), _status(sandbox, "mi")) == ("INACTIVE", "ACTIVE")
    sandbox.collect_notifications()
    assert [n.subject for n in sandbox.notifications] == [
        "[dev] ei retired: scaled to 0 and deleted",
        "[dev] mi 4.4.0-1 deployed",
    ]


def test_the_renamed_example_alone_leaves_the_old_service_running_and_says_so(sandbox):
    _deployed_before_the_rename(sandbox)
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()
    assert (_status(sandbox, "ei"), _status(sandbox, "mi")) == ("ACTIVE", "ACTIVE")
    assert sorted(statuses(sandbox)) == [("ei", "WARNING"), ("mi", "COMPLETED")]
    assert "[dev] ei left the spec; still running" in [n.subject for n in sandbox.notifications]
