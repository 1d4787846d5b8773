"""A stage's configuration as .chalice/config.json and its environments file
(chalicelib/environments/<stage>.yaml) declare it: the variables its Lambdas get, and the fence
they enforce, read the same way by `berth validate --stage` and the sandbox."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chalicelib.spec.environments import fence_variables, read_environments
from chalicelib.spec.fence import FENCE_VARIABLES, StageFence, fence_from_variables

CONFIG = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"
__all__ = ["FENCE_VARIABLES", "stage_fence", "stage_variables"]


def stage_variables(stage: str, config: dict[str, Any] | None = None) -> dict[str, str]:
    """The environment variables chalice gives the stage's Lambdas (top level, then stage)."""
    config = config if config is not None else json.loads(CONFIG.read_text())
    if stage not in config.get("stages", {}):
        raise KeyError(f"{CONFIG.name} has no stage {stage!r} ({', '.join(config['stages'])})")
    given = {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }
    declared = read_environments(stage, given.get("BERTH_ENVIRONMENTS_FILE"))
    return {**(fence_variables(declared) if declared is not None else {}), **given}


def stage_fence(
    stage: str, region: str | None = None, overrides: dict[str, str] | None = None
) -> StageFence:
    """The stage's fence as its Lambdas enforce it, for checking a spec before uploading it:
    the configuration's variables, under the fence variables of `overrides` (default: this
    process's environment, where a sandbox's shell finds its own network and BERTH_ACCOUNT, as
    the stack gives it to the Lambdas); secrets are checked against `region` when given."""
    given = os.environ if overrides is None else overrides
    variables = {**stage_variables(stage), **{k: given[k] for k in FENCE_VARIABLES if k in given}}
    fence = fence_from_variables(variables, region)
    return fence if fence is not None else StageFence(frozenset(), frozenset())
