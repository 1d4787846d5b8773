"""Reading a spec for a command: from a file or from standard input (`-`), optionally under
what a stage lets a spec reach, with its problems printed one per line."""

from __future__ import annotations

import sys

import click

from berth.stages import stage_fence
from chalicelib.errors import SpecError
from chalicelib.spec.fence import StageFence
from chalicelib.spec.model import Spec
from chalicelib.spec.parse import MAX_FILE_READ, load_spec_file, parse_spec

STDIN_NAME = "<stdin>"


def fence_of_stage(stage: str) -> StageFence:
    try:
        return stage_fence(stage)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--stage") from None


def load_spec(path: str, fence: StageFence | None = None) -> Spec:
    """A spec from a file, or from standard input for `-`."""
    if path == "-":
        return parse_spec(stdin_bytes(), STDIN_NAME, fence)
    return load_spec_file(path, fence)


def stdin_bytes() -> bytes:
    return sys.stdin.buffer.read(MAX_FILE_READ)


def load_or_fail(path: str, fence: StageFence | None, status: int = 1) -> Spec:
    try:
        return load_spec(path, fence)
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(status)
