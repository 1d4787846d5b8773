"""A stage's configuration as .chalice/config.json declares it: the variables its Lambdas get,
and the fence they enforce, read the same way by `berth validate --stage` and the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.fence import StageFence, environment_clusters

CONFIG = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"
FENCE_VARIABLES = ("BERTH_TASK_ROLES", "BERTH_IMAGE_REPOSITORIES", "BERTH_ENVIRONMENT_CLUSTERS")


def stage_variables(stage: str, config: dict[str, Any] | None = None) -> dict[str, str]:
    """The environment variables chalice gives the stage's Lambdas (top level, then stage)."""
    config = config if config is not None else json.loads(CONFIG.read_text())
    if stage not in config.get("stages", {}):
        raise KeyError(f"{CONFIG.name} has no stage {stage!r} ({', '.join(config['stages'])})")
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }


def _names(listed: str) -> frozenset[str]:
    return frozenset(v.strip() for v in listed.split(",") if v.strip())


def stage_fence(stage: str) -> StageFence:
    variables = stage_variables(stage)
    roles, repositories = (_names(variables.get(name, "")) for name in FENCE_VARIABLES[:2])
    clusters = environment_clusters(variables.get("BERTH_ENVIRONMENT_CLUSTERS", ""))
    return StageFence(roles, repositories, clusters)
