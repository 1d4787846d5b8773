"""Duplicates and disorder: every event of a scenario delivered 1-3 times, shuffled, many seeds."""

from __future__ import annotations

import itertools
import os
import random
from collections import Counter

import pytest

from berth.sandbox.sandbox import Sandbox, example_spec
from chalicelib import handlers
from chalicelib.values.tracks import version_key
from tests.reliability.conftest import FIGURES

SEEDS = range(int(os.environ.get("BERTH_CHAOS_SEEDS", "6")))


@pytest.mark.parametrize("seed", SEEDS)
def test_shuffled_duplicated_events_deploy_each_intended_image_once(seed):
    with Sandbox(rollout_seconds=0.0, chaos=random.Random(seed)) as box:
        box.push("wso2mi", "4.4.0-1")
        box.push("wso2am", "4.7.0-1")
        box.upload_spec(box.adapt_spec(example_spec()))
        # Three newer APIM builds and a newer MI pushed at once, before anything settled.
        for tag in ("4.7.0-2", "4.7.0-3", "4.7.0-4"):
            box.push("wso2am", tag)
        box.push("wso2mi", "4.4.0-2")
        box.run_until_idle(timeout=60)
        box.collect_notifications()

        errors = [d.error for d in box.deliveries if d.error]
        store = handlers.berth().store
        updates = [
            c for c in box.recorder.ecs_mutations() if c.operation == "RegisterTaskDefinition"
        ]
        by_family: dict[str, list[str]] = {}
        for call in updates:
            labels = call.params["containerDefinitions"][0]["dockerLabels"]
            by_family.setdefault(call.params["family"], []).append(labels["berth.image.tag"])
        notifications = Counter(
            (n.document["record_id"], n.document["status"]) for n in box.notifications
        )
        backwards = sum(
            1
            for tags in by_family.values()
            for a, b in itertools.pairwise(tags)
            if version_key(b) < version_key(a)
        )
        figures = FIGURES["duplicates and order"]
        figures["seeds"] = figures.get("seeds", 0) + 1
        figures["deliveries"] = figures.get("deliveries", 0) + len(box.deliveries)
        figures["older over newer"] = figures.get("older over newer", 0) + backwards
        figures["duplicate notifications"] = figures.get("duplicate notifications", 0) + sum(
            n - 1 for n in notifications.values()
        )

        assert errors == []
        assert backwards == 0
        for family, tags in by_family.items():
            assert len(tags) == len(set(tags)), (family, tags)  # each image deployed at most once
        assert store.get_head("dev", "apim").image.tag == "4.7.0-4"
        assert store.get_head("dev", "mi").image.tag == "4.4.0-2"
        assert _live_tag(box, "apim") == "4.7.0-4" and _live_tag(box, "mi") == "4.4.0-2"
        assert [key for key, n in notifications.items() if n > 1] == []
        for service in ("mi", "apim"):
            records = store.history("dev", service)
            assert all(r.status in ("COMPLETED", "SUPERSEDED") for r in records), [
                (r.status, r.reason) for r in records
            ]
            assert records[0].status == "COMPLETED"


def _live_tag(box: Sandbox, service: str) -> str:
    ecs = box.client("ecs")
    arn = ecs.describe_services(cluster="wso2-dev", services=[service])["services"][0][
        "taskDefinition"
    ]
    definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return str(definition["containerDefinitions"][0]["dockerLabels"]["berth.image.tag"])
