"""The reliability suite's own small specs (Micro Integrator services following a track), so
that no edit of the examples changes what these tests deploy."""

from __future__ import annotations

from typing import Any

import yaml

from berth.sandbox.sandbox import Sandbox

SERVICES = 11
"""More than BERTH_WIDE_RUN (10): a wide run, fanned out as batches."""

MI = """
berth: 1
environment: dev
cluster: wso2-dev
executionRoleArn: arn:aws:iam::123456789012:role/berth-task-execution-dev-dev
taskRoleArn: arn:aws:iam::123456789012:role/berth-task-dev-dev
logGroup: /berth/dev
network:
  subnets: [subnet-0a1b2c3d4e5f60001]
  securityGroups: [sg-0a1b2c3d4e5f60001]
services: {}
"""

SERVICE: dict[str, Any] = {
    "product": "wso2mi",
    "cpu": 1024,
    "memory": 2048,
    "desiredCount": 1,
    "environment": {"APIM_HOST": "apim", "MI_HOSTNAME": "mi"},
    "secrets": {
        name: f"arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/{secret}"
        for name, secret in {
            "APIM_ADMIN_PASSWORD": "admin-password",
            "BERTH_KEYSTORE_B64": "mi-keystore",
            "KEYSTORE_PASSWORD": "mi-keystore-password",
            "BERTH_TRUSTSTORE_B64": "truststore",
            "TRUSTSTORE_PASSWORD": "truststore-password",
        }.items()
    },
}


def small_spec(box: Sandbox, track: str, count: int = SERVICES) -> str:
    """`count` independent Micro Integrator services following `track` (this file's own spec,
    not the examples')."""
    document = yaml.safe_load(MI)
    document["services"] = {
        f"mi-{i:02d}": {**SERVICE, "image": {"repository": "wso2mi", "track": track}}
        for i in range(count)
    }
    return box.adapt_spec(yaml.safe_dump(document, sort_keys=False))


def chained_spec(box: Sandbox, front: str, back: str) -> str:
    """Two Micro Integrator services, `back` after `front` (dependsOn), following the tags."""
    document = yaml.safe_load(MI)
    document["services"] = {
        "front": {**SERVICE, "image": {"repository": "wso2mi", "track": front}},
        "back": {
            **SERVICE, "image": {"repository": "wso2mi", "track": back}, "dependsOn": ["front"],
        },
    }  # fmt: skip
    return box.adapt_spec(yaml.safe_dump(document, sort_keys=False))
