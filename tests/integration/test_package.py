"""The Lambda zip holds only Lambda code: no CLI, no sandbox, nothing that imports moto; it stays
under 8 MiB unzipped with nothing unused in it, and it imports as Lambda imports it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest

from berth.chalice_package import configured_runtime
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


# ---- the zip as `make package` ships it, with its third-party requirements (fetched from PyPI) --

MIB = 1024 * 1024
RUNTIME_PROVIDES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
UNUSED = (
    "aws_lambda_powertools/event_handler/",
    "aws_lambda_powertools/utilities/parser/",
    "aws_lambda_powertools/utilities/data_classes/",
    "pydantic/v1/",
    "pydantic/mypy.py",
    "berth/",
)


def _package(work: Path, runtime: str | None) -> zipfile.ZipFile:
    for name in ("app.py", "chalicelib", ".chalice", "requirements.txt"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    runtime_option = ["--runtime", runtime] if runtime else []
    subprocess.run(
        [BIN / "python", "-m", "berth.chalice_package", *runtime_option, "--stage", "prod", "out"],
        cwd=work,
        check=True,
        capture_output=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": f"{BIN}:/usr/bin:/bin"},
    )
    return zipfile.ZipFile(work / "out" / "deployment.zip")


@pytest.fixture(scope="module")
def shipped_zip(tmp_path_factory) -> zipfile.ZipFile:
    """The zip for the runtime .chalice/config.json names, as `make package` builds it."""
    return _package(tmp_path_factory.mktemp("shipped"), None)


@pytest.fixture(scope="module")
def importable_zip(tmp_path_factory) -> Path:
    """The same zip built for this interpreter (its wheels' ABI), unzipped: the one Python here
    can import. Bytecode is compiled in it when this interpreter is also the runtime's."""
    work = tmp_path_factory.mktemp("importable")
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    with _package(work, runtime) as archive:
        archive.extractall(work / "unzipped")
    return work / "unzipped"


def test_the_shipped_zip_is_at_most_8_mib_unzipped(shipped_zip):
    unzipped = sum(i.file_size for i in shipped_zip.infolist())
    assert unzipped <= 8 * MIB, f"{unzipped / MIB:.2f} MiB unzipped"


def test_the_shipped_zip_carries_nothing_the_lambdas_never_use(shipped_zip):
    names = shipped_zip.namelist()
    assert [n for n in names if n.startswith(UNUSED)] == []
    assert [n for n in names if n.endswith((".pyi", "/RECORD")) or "/tests/" in n] == []
    assert [n for n in names if n.split("/")[0] in RUNTIME_PROVIDES[:3]] == []  # Lambda has them


def test_the_shipped_zip_is_for_the_configured_runtime(shipped_zip):
    abi = configured_runtime(ROOT / ".chalice" / "config.json").removeprefix("python")
    shared = [n for n in shipped_zip.namelist() if n.endswith(".so")]
    assert shared and all(f"cpython-{abi.replace('.', '')}-" in n for n in shared)


def test_shared_objects_in_the_zip_are_stripped(shipped_zip, tmp_path):
    for name in [n for n in shipped_zip.namelist() if n.endswith(".so")]:
        path = Path(shipped_zip.extract(name, tmp_path))
        sections = subprocess.run(
            ["objdump", "-h", str(path)], check=True, capture_output=True, text=True
        ).stdout
        assert ".symtab" not in sections and ".debug_info" not in sections, name


def test_no_module_in_the_zip_imports_a_module_the_slimming_dropped(importable_zip):
    """No import statement (lazy ones too) names a module the slimming dropped (those installed
    in this venv but not in the zip), except two that berth/chalice_package.py documents and
    Berth never takes: powertools' way into event_handler (a pydantic model handed to its JSON
    encoder) and pydantic's into v1 (a v1 model met while building a schema)."""
    from berth.chalice_package import NEVER_REACHED, _imports, _module_of

    def modules(root: Path, top: str) -> set[str]:
        return {_module_of(str(p.relative_to(root))) for p in (root / top).rglob("*.py")}

    home = Path(str(boto3.__file__)).parent.parent
    dropped = set()
    for top in ("aws_lambda_powertools", "pydantic"):
        dropped |= modules(home, top) - modules(importable_zip, top)
    assert "aws_lambda_powertools.utilities.parser" in dropped  # the comparison sees the drops
    offenders = set()
    for path in importable_zip.rglob("*.py"):
        module = _module_of(str(path.relative_to(importable_zip)))
        for name in set(_imports(module, path.read_text(), path.name == "__init__.py")) & dropped:
            offenders.add((module, name))
    documented = {("pydantic._internal._generate_schema", "pydantic.v1")}
    assert {o for o in offenders if not o[1].startswith(NEVER_REACHED)} == documented
    assert {o[0] for o in offenders} - {"pydantic._internal._generate_schema"} <= {
        "aws_lambda_powertools.shared.functions"
    }


def test_the_zip_imports_app_and_its_handlers_with_only_the_runtimes_boto3(importable_zip):
    """As Lambda imports it: the zip first, then the runtime's boto3 and what boto3 needs (from
    this venv), and nothing else of the dev environment (`-S`: no site-packages)."""
    runtime = importable_zip.parent / "runtime"
    runtime.mkdir()
    home = Path(str(boto3.__file__)).parent.parent
    for name in RUNTIME_PROVIDES:
        (shutil.copytree if (home / name).is_dir() else shutil.copy)(home / name, runtime / name)
    code = (
        "import app, chalicelib.handlers as h, sys\n"
        "assert callable(app.on_image_pushed) and callable(h.image_pushed)\n"
        "assert 'aws_xray_sdk' not in sys.modules and 'moto' not in sys.modules\n"
        "print(app.__file__, h.berth)"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code],
        check=False,
        cwd=importable_zip,
        capture_output=True,
        text=True,
        env={
            "PYTHONPATH": f"{importable_zip}{os.pathsep}{runtime}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_METRICS_DISABLED": "true",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(str(importable_zip / "app.py"))
