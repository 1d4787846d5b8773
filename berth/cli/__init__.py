"""The `berth` command: validate and render spec files, and run the embedded AWS sandbox.

`main` is the click group every command registers on; `run` is the console script's entry
(`berth = "berth.cli:run"` in pyproject.toml). The commands live by concern beside it:
spec_commands (validate, render), stage_commands (deploy, diff, status, history),
asked_commands (rollback, promote, approve) and sandbox_commands (the `sandbox` group)."""

from __future__ import annotations

import os

import click

from berth.cli.asked_commands import approve, promote, rollback
from berth.cli.failure import fail, told
from berth.cli.sandbox_commands import sandbox
from berth.cli.spec_commands import render, validate
from berth.cli.stage_commands import deploy, diff, history, status
from chalicelib.errors import BerthError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="berth", prog_name="berth")
def main() -> None:
    """Berth: ship WSO2 API Manager and Enterprise Integrator to AWS ECS.

    \b
    Spec files describe one environment's services; Berth deploys them when a spec
    is uploaded to S3 or a tracked image is pushed to ECR.

    \b
    deploy, diff, status, history, rollback, promote and approve act on a deployed stage through the
    standard AWS credential chain (--profile, --region, AWS_ENDPOINT_URL for `berth sandbox up`).
    """


for _command in (
    validate, render,
    deploy, diff, status, history,
    rollback, promote, approve,
    sandbox,
):  # fmt: skip
    main.add_command(_command)


def run() -> None:
    """Entry point: any failure is one line and exit status 1 (BERTH_DEBUG=1: traceback)."""
    try:
        main(standalone_mode=True)
    except BerthError as exc:
        fail(told(exc))
    except Exception as exc:
        if os.environ.get("BERTH_DEBUG"):
            raise
        fail(f"berth: unexpected {type(exc).__name__}: {exc} (set BERTH_DEBUG=1 for details)")
