"""The operator's commands against a deployed stage (deploy, diff, status, history): AWS-calling
logic takes its clients or adapters as arguments; what people read is built by pure functions."""

from __future__ import annotations

from chalicelib.errors import BerthError


class OperatorError(BerthError):
    """Something an operator command cannot do, said in one line with what to do about it."""
