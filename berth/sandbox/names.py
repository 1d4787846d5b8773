"""The sandbox's account, region and stage, the names of the resources it creates, and the
shape of what reaches them (a client by service name)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
# The sandbox is the dev stage of account 123456789012: its resources carry the names the dev
# stage's template gives them, so the Lambdas run under .chalice/policy-dev.json unchanged.
STAGE = "dev"
BUCKET = f"berth-specs-{ACCOUNT}-{STAGE}"
TOPIC = f"berth-notifications-{STAGE}"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}"
CLUSTERS = ("wso2-dev", "wso2-prod")
TABLE_NAMES = {
    "DeploymentsTable": f"berth-deployments-{STAGE}",
    "SpecsTable": f"berth-specs-{STAGE}",
    "IdempotencyTable": f"berth-idempotency-{STAGE}",
}
REPO_ROOT = Path(__file__).resolve().parents[2]
Clients = Callable[[str], Any]
"""A client of the sandbox by service name (Sandbox.client)."""


def queue_arn(url: str) -> str:
    """The ARN of a sandbox SQS queue, from its URL."""
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[-1]}"
