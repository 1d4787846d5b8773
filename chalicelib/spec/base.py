"""The spec models' base class and the field types they share: names, secret references, ports,
image references."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
)
from pydantic.alias_generators import to_camel

from chalicelib.model import Model

NAME = r"^[a-z][a-z0-9-]{0,30}$"


SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:.+"
    r"|ssm:[a-z0-9-]+:\d{12}:parameter/.+)$"
)


class SpecModel(Model):
    # defer_build: the schema is built on first use, so the Lambdas that never validate a spec
    # (most ECS events) do not pay for it at cold start.
    model_config = ConfigDict(
        alias_generator=to_camel,
        # One spelling per field: `desired_count` is an unknown field, not an alias.
        populate_by_name=False,
        extra="forbid",
        frozen=True,
        defer_build=True,
    )


def _secret_arn(value: str) -> str:
    if not SECRET_ARN.match(value):
        raise ValueError(
            f"{value!r} is not a Secrets Manager or SSM parameter ARN "
            "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
            "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME); secrets are references, never values"
        )
    return value


SecretArn = Annotated[str, AfterValidator(_secret_arn)]


Port = Annotated[int, Field(ge=1, le=65535)]


REPOSITORY = r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$"


# REPOSITORY[:TAG]@sha256:HEX, the form `berth render --image` takes (tags: Docker's grammar).
PINNED = re.compile(
    r"^(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"@(?P<digest>sha256:[0-9a-f]{64})$"
)


def text_values(value: Any) -> Any:
    # YAML turns `DEBUG: true` into a bool and `PORT: 8080` into an int; ECS wants strings
    # (environment values and tags): true -> "true", 8080 -> "8080", 1.10 -> "1.1" (by value).
    if isinstance(value, dict):
        return {
            k: (str(v).lower() if isinstance(v, bool) else str(v))
            if isinstance(v, (bool, int, float))
            else v
            for k, v in value.items()
        }
    return value
