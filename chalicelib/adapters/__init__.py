"""The only modules that talk to AWS: each takes its boto3 client, and no botocore exception
leaves it. `aws_errors` turns every failure that survives botocore's retries into Berth's own
`AwsCallFailed`, named with the operation, AWS's error code and its message."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from chalicelib.errors import AwsCallFailed, AwsCredentialsMissing, AwsUnreachable

P = ParamSpec("P")
R = TypeVar("R")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "ClientError"))


def as_aws_failure(operation: str, exc: Exception) -> AwsCallFailed:
    """An AWS exception as the error Berth records and reports (operation, code, message)."""
    if isinstance(exc, ClientError):
        message = str(exc.response.get("Error", {}).get("Message", exc))
        return AwsCallFailed(getattr(exc, "operation_name", operation), error_code(exc), message)
    # botocore raises NoCredentialsError when no provider of its chain has credentials, and
    # PartialCredentialsError for a key without its secret (botocore/credentials.py); every
    # failure to reach the endpoint (EndpointConnectionError, ConnectTimeoutError, a proxy or
    # SSL failure) is a botocore.exceptions.ConnectionError, raised after its retries.
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AwsCredentialsMissing(operation, type(exc).__name__, str(exc))
    if isinstance(exc, BotoConnectionError):
        endpoint = getattr(exc, "kwargs", {}).get("endpoint_url")
        return AwsUnreachable(operation, type(exc).__name__, str(exc), endpoint)
    return AwsCallFailed(operation, type(exc).__name__, str(exc))


def aws_errors(operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Translate what a method's AWS calls raise into `AwsCallFailed` (`operation` names the
    call when botocore does not, e.g. for a connection error)."""

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def translated(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise as_aws_failure(operation, exc) from exc

        return translated

    return wrap
