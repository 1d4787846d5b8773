"""Malformed and unexpected events: each handled or ignored with a reason, never a crash loop."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from berth.sandbox.replay import replay_event
from tests.conftest import sample_event
from tests.reliability.conftest import FIGURES

Mutation = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Mutation:
    def apply(event: dict[str, Any]) -> dict[str, Any]:
        target = event
        *parents, last = path.split(".")
        for part in parents:
            target = target[part]
        target[last] = value
        return event

    return apply


def _drop(path: str) -> Mutation:
    def apply(event: dict[str, Any]) -> dict[str, Any]:
        target = event
        *parents, last = path.split(".")
        for part in parents:
            target = target[part]
        del target[last]
        return event

    return apply


# (name, sample, mutation, expected: "malformed" or "handled")
VARIANTS: list[tuple[str, str, Mutation | None, str]] = [
    ("ecr push, as documented", "ecr-image-push.json", None, "handled"),
    ("ecr delete", "ecr-image-delete.json", None, "handled"),
    ("ecr push failed", "ecr-image-push.json", _set("detail.result", "FAILURE"), "handled"),
    ("ecr push, untagged", "ecr-image-push.json", _drop("detail.image-tag"), "handled"),
    ("ecr push, other account", "ecr-image-push.json", _set("account", "999999999999"), "handled"),
    ("ecr push, other region", "ecr-image-push.json", _set("region", "eu-north-1"), "handled"),
    (
        "ecr push, unknown extra fields",
        "ecr-image-push.json",
        _set("detail.new-field", {"x": [1]}),
        "handled",
    ),
    ("ecr push, no digest", "ecr-image-push.json", _drop("detail.image-digest"), "malformed"),
    (
        "ecr push, digest is a number",
        "ecr-image-push.json",
        _set("detail.image-digest", 7),
        "malformed",
    ),
    (
        "ecr push, digest not sha256",
        "ecr-image-push.json",
        _set("detail.image-digest", "md5:abc"),
        "malformed",
    ),
    (
        "ecr push, no repository",
        "ecr-image-push.json",
        _drop("detail.repository-name"),
        "malformed",
    ),
    ("ecr push, detail is a list", "ecr-image-push.json", _set("detail", []), "malformed"),
    ("ecr push, detail is null", "ecr-image-push.json", _set("detail", None), "malformed"),
    ("ecr push, no time", "ecr-image-push.json", _drop("time"), "malformed"),
    (
        "ecr push, time is garbage",
        "ecr-image-push.json",
        _set("time", "yesterday-ish"),
        "malformed",
    ),
    ("ecr push, no id", "ecr-image-push.json", _drop("id"), "malformed"),
    ("ecr push, no account", "ecr-image-push.json", _drop("account"), "malformed"),
    ("ecr scan (no rule)", "ecr-image-scan.json", None, "handled"),
    (
        "unknown detail-type",
        "ecr-image-push.json",
        _set("detail-type", "ECR Replication Action"),
        "handled",
    ),
    ("unknown source", "ecr-image-push.json", _set("source", "aws.codebuild"), "handled"),
    ("ecs in progress, external", "ecs-deployment-in-progress.json", None, "handled"),
    ("ecs completed, external", "ecs-deployment-completed.json", None, "handled"),
    ("ecs failed, external", "ecs-deployment-failed.json", None, "handled"),
    ("ecs rollback, external", "ecs-deployment-rollback-in-progress.json", None, "handled"),
    (
        "ecs, unknown event name",
        "ecs-deployment-completed.json",
        _set("detail.eventName", "SERVICE_DEPLOYMENT_PAUSED"),
        "handled",
    ),
    (
        "ecs, no deployment id",
        "ecs-deployment-completed.json",
        _drop("detail.deploymentId"),
        "malformed",
    ),
    (
        "ecs, empty deployment id",
        "ecs-deployment-completed.json",
        _set("detail.deploymentId", ""),
        "malformed",
    ),
    ("ecs, no resources", "ecs-deployment-completed.json", _set("resources", []), "handled"),
    (
        "ecs, resources not a list",
        "ecs-deployment-completed.json",
        _set("resources", "arn"),
        "malformed",
    ),
    ("ecs steady state", "ecs-service-steady-state.json", None, "handled"),
    (
        "ecs service action, impaired",
        "ecs-service-steady-state.json",
        _set("detail.eventName", "SERVICE_TASK_START_IMPAIRED"),
        "handled",
    ),
    (
        "ecs service action, no event name",
        "ecs-service-steady-state.json",
        _drop("detail.eventName"),
        "malformed",
    ),
    ("s3 object created, other bucket", "s3-object-created.json", None, "handled"),
    (
        "s3 object created, sandbox bucket, missing object",
        "s3-object-created.json",
        _set("detail.bucket.name", "berth-specs-123456789012-dev"),
        "handled",
    ),
    (
        "s3, not under specs/",
        "s3-object-created.json",
        _set("detail.object.key", "README.md"),
        "handled",
    ),
    ("s3, no key", "s3-object-created.json", _drop("detail.object.key"), "malformed"),
    ("s3, object is a string", "s3-object-created.json", _set("detail.object", "key"), "malformed"),
    (
        "s3 Records[] with no records",
        "s3-object-created.json",
        lambda e: {"Records": []},
        "malformed",
    ),
]


@pytest.fixture(scope="module")
def shared_sandbox():
    from berth.sandbox.sandbox import Sandbox

    with Sandbox(rollout_seconds=0.0) as box:
        yield box


RAW_VARIANTS: list[tuple[str, bytes, str]] = [
    ("truncated JSON", b'{"version": "0", "id": "x", "detail": {', "malformed"),
    ("empty file", b"", "malformed"),
    ("JSON array", b"[1, 2]", "handled"),
    ("JSON string", b'"hello"', "handled"),
    ("binary", bytes(range(256)), "malformed"),
]


def test_at_least_thirty_variants():
    assert len(VARIANTS) + len(RAW_VARIANTS) >= 30


@pytest.mark.parametrize(
    ("name", "sample", "mutation", "expected"), VARIANTS, ids=[v[0] for v in VARIANTS]
)
def test_event_variant(shared_sandbox, name, sample, mutation, expected):
    event = sample_event(sample)
    if mutation is not None:
        event = mutation(copy.deepcopy(event))
    lines, malformed = replay_event(json.dumps(event).encode(), name, None, shared_sandbox)
    _check(name, lines, malformed, expected)


@pytest.mark.parametrize(
    ("name", "raw", "expected"), RAW_VARIANTS, ids=[v[0] for v in RAW_VARIANTS]
)
def test_raw_variant(shared_sandbox, name, raw, expected):
    lines, malformed = replay_event(raw, name, None, shared_sandbox)
    _check(name, lines, malformed, expected)


def _check(name: str, lines: list[dict[str, Any]], malformed: bool, expected: str) -> None:
    figures = FIGURES["malformed events"]
    figures["variants"] = figures.get("variants", 0) + 1
    delivery = next((line for line in lines if line["kind"] == "delivery"), None)
    assert delivery is None or delivery["error"] is None, (
        delivery
    )  # never a raise Lambda would retry
    assert malformed is (expected == "malformed"), lines
    reasons = (
        [o.get("reason") for o in (delivery or {}).get("result", {}).get("outcomes", [])]
        if delivery
        else [line.get("reason") for line in lines]
    )
    assert reasons and all(reasons), lines  # handled or ignored, always with a reason
    assert not [line for line in lines if line["kind"] == "ecs"]
    key = "rejected as malformed" if malformed else "handled or ignored"
    figures[key] = figures.get(key, 0) + 1
    figures["crashes"] = figures.get("crashes", 0)
