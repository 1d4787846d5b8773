"""Errors a user can act on: each carries what is needed to fix its cause, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass


class BerthError(Exception):
    """Base of every error Berth reports to a person."""


@dataclass(frozen=True)
class SpecProblem:
    """One thing wrong with a spec file, located as precisely as the input allows."""

    file: str
    path: str
    reason: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.reason}" if self.path else f"{where}: {self.reason}"


class SpecError(BerthError):
    """A spec file that cannot be accepted, with every problem found in it."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class EnvironmentsError(SpecError):
    """A stage's environments file (chalicelib/environments/<stage>.yaml) that cannot be read,
    every problem located as a spec's are: fix the file and deploy the stack again."""


class AwsCallFailed(BerthError):
    """An AWS call that failed after botocore's retries, named with its operation and error code."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        self.message = message
        super().__init__(f"{operation} failed: {code}: {message}")


class AwsUnreachable(AwsCallFailed):
    """Nothing answered at AWS's endpoint (no route, a wrong AWS_ENDPOINT_URL, a stopped
    sandbox); `endpoint` is the URL called, when botocore names it."""

    def __init__(self, operation: str, code: str, message: str, endpoint: str | None) -> None:
        self.endpoint = endpoint
        super().__init__(operation, code, message)


class AwsCredentialsMissing(AwsCallFailed):
    """The standard credential chain found no credentials (or only part of a key pair)."""


class EventNotUnderstood(BerthError):
    """An event whose shape Berth does not know; it is logged and ignored, never retried."""

    def __init__(self, event_id: str, reason: str) -> None:
        self.event_id = event_id
        self.reason = reason
        super().__init__(f"event {event_id}: {reason}")
