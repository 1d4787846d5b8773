"""Berth's Lambdas as Lambda runs them in the sandbox: app.py loaded as Lambda loads it, the
context object Lambda passes, and what one invocation did (a Delivery).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from typing import Any

from berth.sandbox.names import ACCOUNT, REGION, REPO_ROOT

LAMBDA_ATTEMPTS = 3


class LambdaContext:
    """What Lambda passes as `context`; powertools reads these attributes."""

    def __init__(self, function_name: str, request_id: str, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:berth-sandbox-{function_name}"
        )
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/berth-sandbox-{function_name}"
        self.log_stream_name = "sandbox"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Delivery:
    """One handler invocation: which Lambda, the raw event, what it returned (or raised)."""

    function: str
    event: Any
    result: dict[str, Any] | None
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0
    calls: int = 0
    """AWS API calls Berth's clients made during this delivery."""


def _app_module() -> Any:
    """The real Chalice app.py, loaded as Lambda loads it (the repository root is its package)."""
    if "app" not in sys.modules:
        spec = importlib.util.spec_from_file_location("app", REPO_ROOT / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["app"] = module
        spec.loader.exec_module(module)
    return sys.modules["app"]
