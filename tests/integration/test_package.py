"""The Lambda zip holds only Lambda code: no CLI, no sandbox, nothing that imports moto."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
OPERATOR_ONLY = ("berth", "moto", "click")


@pytest.fixture(scope="module")
def deployment_zip(tmp_path_factory) -> zipfile.ZipFile:
    """`chalice package` as `make package` runs it, offline: the project's own files with no
    third-party requirements to download (those come from requirements.txt, checked below)."""
    work = tmp_path_factory.mktemp("package")
    for name in ("app.py", "chalicelib", "berth", ".chalice", "infra"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    (work / "requirements.txt").write_text("")
    subprocess.run(
        [BIN / "python", "-m", "berth.chalice_package", "--stage", "prod", "out"],
        cwd=work,
        check=True,
        capture_output=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": str(BIN)},
    )
    return zipfile.ZipFile(work / "out" / "deployment.zip")


def _imported(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_zip_holds_app_and_the_lambda_package_only(deployment_zip):
    top = {name.split("/")[0] for name in deployment_zip.namelist()}
    # `chalice` is Chalice's own runtime (chalice/app.py), which every Chalice zip carries.
    assert top == {"app.py", "chalice", "chalicelib"}


def test_nothing_in_the_zip_imports_the_operator_package_or_its_tools(deployment_zip):
    offenders = {
        name: sorted(_imported(deployment_zip.read(name).decode()) & set(OPERATOR_ONLY))
        for name in deployment_zip.namelist()
        if name.endswith(".py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_lambda_requirements_name_no_operator_tool():
    requirements = (ROOT / "requirements.txt").read_text().lower()
    assert not [tool for tool in OPERATOR_ONLY if tool in requirements]
