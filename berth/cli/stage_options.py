"""Where the commands on a deployed stage act: the stage options every one of them takes, and
the connection to that stage's resources through the standard AWS credential chain."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from berth.commands.connect import Connection

F = TypeVar("F", bound=Callable[..., Any])


def stage_options(command: F) -> F:
    """Where a command acts: the stage's resources, reached with the standard credential chain."""
    options = [
        click.option(
            "--stage",
            default="dev",
            show_default=True,
            envvar="BERTH_STAGE",
            help="The Berth stage: its resources are named as infra/resources.yaml names them.",
        ),
        click.option("--profile", help="AWS profile (default: the standard credential chain)."),
        click.option("--region", help="AWS region (default: AWS_REGION or the profile's)."),
        click.option(
            "--spec-bucket",
            envvar="BERTH_SPEC_BUCKET",
            help="Instead of berth-specs-<account>-<stage>.",
        ),
        click.option(
            "--deployments-table",
            envvar="BERTH_DEPLOYMENTS_TABLE",
            help="Instead of berth-deployments-<stage>.",
        ),
        click.option(
            "--specs-table", envvar="BERTH_SPECS_TABLE", help="Instead of berth-specs-<stage>."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def connect_to(where: dict[str, Any]) -> Connection:
    from berth.commands.connect import Overrides, connect

    return connect(
        where["stage"],
        where["profile"],
        where["region"],
        Overrides(where["spec_bucket"], where["deployments_table"], where["specs_table"]),
    )


def take_where(kwargs: dict[str, Any]) -> dict[str, Any]:
    names = ("stage", "profile", "region", "spec_bucket", "deployments_table", "specs_table")
    return {name: kwargs.pop(name) for name in names}
