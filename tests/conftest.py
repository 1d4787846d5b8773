"""Test set-up for every level: no request may leave loopback, and AWS sample events come from
tests/fixtures/events (inside the repository: a clone needs nothing beside it)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from berth.sandbox.server import guard_loopback

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "fixtures" / "events"
EXAMPLES = ROOT / "examples"
EXAMPLE_SPECS = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".yml", ".json"))

# Before anything builds a client: dummy credentials, and an endpoint nobody listens on, so that
# a client built without the sandbox's endpoint fails fast instead of finding real AWS.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)
guard_loopback()


def sample_event(name: str) -> dict[str, Any]:
    """An AWS documentation sample event from tests/fixtures/events (a fresh copy)."""
    return dict(json.loads((EVENTS / name).read_text()))


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A fresh sandbox: moto on 127.0.0.1, the real handlers, instant simulated rollouts."""
    from berth.sandbox.sandbox import Sandbox

    with Sandbox(rollout_seconds=0.0) as box:
        yield box
        box.collect_notifications()
    # Every message a test published must follow the documented schema.
    schema = json.loads((ROOT / "docs" / "notification.schema.json").read_text())
    for note in box.notifications:
        jsonschema.validate(note.document, schema)


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retry back-off sleeps; the faults tests only care that retries happen."""
    import types

    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda _: None))
