"""How every `berth` command fails: one line on standard error, exit status 1."""

from __future__ import annotations

import sys

import click


def fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)
