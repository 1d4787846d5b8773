"""`chalice package` for the Lambda runtime .chalice/config.json names.

Chalice 1.34 takes the runtime from the interpreter it runs under (`Config.lambda_python_version`
ignores config.json; aws/chalice#1416), and when it fetches manylinux wheels for that runtime's
ABI it passes `--abi` but not `--python-version`, so pip still matches wheels against the running
interpreter. Run under the project's Python 3.11 it would ship python3.11, past its Lambda
deprecation (2026-06-30). This runs chalice's own CLI with the runtime from config.json and
wheels fetched for it, as chalice does when it builds on a machine unlike Lambda.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CONFIG = Path(".chalice") / "config.json"


def configured_runtime(config_path: Path = CONFIG) -> str:
    return str(json.loads(config_path.read_text())["lambda_python_version"])


def wheel_download_arguments(
    abi: str, package: str, directory: str, platforms: list[str]
) -> list[str]:
    """pip download's arguments for one package's wheel for the runtime's ABI (cp314 -> 3.14)."""
    arguments = ["--only-binary=:all:", "--no-deps"]
    for platform in platforms:
        arguments += ["--platform", platform]
    version = f"{abi[2]}.{abi[3:]}"
    return [*arguments, "--implementation", "cp", "--abi", abi, "--python-version", version,
            "--dest", directory, package]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m berth.chalice_package [chalice package arguments]`, run in the project."""
    from chalice import cli
    from chalice.config import Config
    from chalice.deploy.packager import PipRunner

    runtime = configured_runtime()
    Config.lambda_python_version = property(lambda _: runtime)  # type: ignore[assignment,method-assign]

    def download_manylinux_wheels(
        self: Any, abi: str, packages: list[str], directory: str, platforms: Any = None
    ) -> None:
        # One pip call per package, as chalice does: pip stops at the first that has no wheel.
        for package in packages:
            arguments = wheel_download_arguments(
                abi, package, directory, platforms or ["manylinux2014_x86_64"]
            )
            self._execute("download", arguments)

    PipRunner.download_manylinux_wheels = download_manylinux_wheels  # type: ignore[method-assign]
    try:
        cli.cli.main(args=["package", *(argv or sys.argv[1:])], prog_name="chalice", obj={})
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
