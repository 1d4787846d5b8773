"""The Lambda zip holds only Lambda code: no CLI, no sandbox, nothing that imports moto; it carries
the AWS SDK Berth is tested with (slimmed to Berth's services) and refuses one that would refuse
a request Berth renders; it stays small with nothing unused in it, carries bytecode for its
runtime, and imports as Lambda imports it, under an interpreter of the runtime's version."""

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

from berth.chalice_package import (
    IMPORT_EVERY_HANDLER_MODULE,
    configured_runtime,
    runtime_interpreter,
    runtime_libraries,
)
from berth.request_shapes import refused_requests, rendered_requests
from berth.sdk_bundle import sdk_problems
from chalicelib.adapters.clients import SERVICES
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
    subprocess.run(  # sources only: without its requirements the zip cannot import app
        [BIN / "python", "-m", "berth.chalice_package", "--source-only", "--stage", "prod", "out"],
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
UNUSED = (
    "aws_lambda_powertools/event_handler/",
    "aws_lambda_powertools/utilities/parser/",
    "aws_lambda_powertools/utilities/data_classes/",
    "pydantic/v1/",
    "pydantic/mypy.py",
    "berth/",
)


def _package(work: Path, *options: str) -> zipfile.ZipFile:
    for name in ("app.py", "chalicelib", ".chalice", "requirements.txt"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    subprocess.run(
        [BIN / "python", "-m", "berth.chalice_package", *options, "--stage", "prod", "out"],
        cwd=work,
        check=True,
        capture_output=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": f"{BIN}:/usr/bin:/bin"},
    )
    return zipfile.ZipFile(work / "out" / "deployment.zip")


RUNTIME = configured_runtime(ROOT / ".chalice" / "config.json")


@pytest.fixture(scope="module")
def interpreter() -> str:
    """An interpreter of the runtime's version, which `make package` compiles the bytecode with
    (berth.chalice_package.runtime_interpreter: pyenv's on this machine)."""
    found = runtime_interpreter(RUNTIME)
    if found is None:
        pytest.skip(f"no {RUNTIME} interpreter here: the zip is packaged without bytecode")
    return found


@pytest.fixture(scope="module")
def shipped_zip(tmp_path_factory) -> zipfile.ZipFile:
    """The zip for the runtime .chalice/config.json names, as `make package` builds it."""
    return _package(tmp_path_factory.mktemp("shipped"))


@pytest.fixture(scope="module")
def unzipped(shipped_zip, tmp_path_factory) -> Path:
    into = tmp_path_factory.mktemp("unzipped")
    shipped_zip.extractall(into)
    return into


@pytest.fixture(scope="module")
def with_sources(tmp_path_factory) -> Path:
    """The same packaging with every module's source (`--source-only`), unzipped: the import
    statements of the modules that ship as bytecode are read here."""
    work = tmp_path_factory.mktemp("sources")
    with _package(work, "--source-only") as archive:
        archive.extractall(work / "unzipped")
    return work / "unzipped"


def test_the_shipped_zip_stays_under_13_mib_unzipped(shipped_zip):
    """A fence against growth, not the goal: `make bench` measures the size against issue 30's
    12 MiB goal, the SDK's share beside it."""
    unzipped = sum(i.file_size for i in shipped_zip.infolist())
    assert unzipped <= 13 * MIB, f"{unzipped / MIB:.2f} MiB unzipped"


def test_the_shipped_zip_carries_nothing_the_lambdas_never_use(shipped_zip):
    names = shipped_zip.namelist()
    assert [n for n in names if n.startswith(UNUSED)] == []
    assert [n for n in names if n.endswith((".pyi", "/RECORD")) or "/tests/" in n] == []



def test_the_shipped_zip_carries_its_own_sdk_with_berths_services_only(shipped_zip):
    names = shipped_zip.namelist()
    assert {"boto3", "botocore", "s3transfer"} <= {n.split("/")[0] for n in names}
    models = {tuple(n.split("/")[2:4]) for n in names if n.startswith("botocore/data/")
              and n.count("/") == 4}  # fmt: skip
    assert {service for service, _ in models} == set(SERVICES)
    assert len(models) == len(SERVICES)  # one API version each: the newest
    assert [n for n in names if n.endswith("examples-1.json") or n.startswith("boto3/data/")] == []


def _pinned(text: str, name: str) -> str:
    return next(
        line.split("==")[1].split('"')[0].strip()
        for line in text.splitlines()
        if line.strip().strip('"').startswith(f"{name}==")
    )


def test_the_zip_the_sandbox_and_the_tests_run_one_botocore(shipped_zip):
    """Issue 30: the version requirements.txt ships is the one pyproject.toml installs for the
    sandbox and the tests, and the one in the zip."""
    import botocore

    shipped = {
        n.split("/")[0].removeprefix("botocore-").removesuffix(".dist-info")
        for n in shipped_zip.namelist()
        if n.startswith("botocore-") and ".dist-info/" in n
    }
    requirements = (ROOT / "requirements.txt").read_text()
    project = (ROOT / "pyproject.toml").read_text()
    for name in ("boto3", "botocore"):
        assert _pinned(requirements, name) == _pinned(project, name)
    assert shipped == {botocore.__version__} == {_pinned(requirements, "botocore")}


def test_the_zips_own_ecs_model_takes_every_request_berth_renders(unzipped):
    """Issue 30: every RegisterTaskDefinition, CreateService, UpdateService and RunTask Berth
    renders for the examples and each strategy is valid for the botocore in the zip, and those
    requests use the members older botocores lack."""
    assert refused_requests(unzipped / "botocore" / "data") == []
    members: set[str] = set()
    for _, operation, params in rendered_requests():
        if operation in ("CreateService", "UpdateService"):
            members |= set(params["deploymentConfiguration"])
            members |= {k for lb in params["loadBalancers"] for k in lb}
    assert {"strategy", "lifecycleHooks", "canaryConfiguration", "linearConfiguration",
            "bakeTimeInMinutes", "alarms", "advancedConfiguration"} <= members  # fmt: skip


def test_packaging_refuses_a_botocore_without_a_member_berth_renders(unzipped, tmp_path):
    """botocore 1.40.60 has no canaryConfiguration (1.40.61 has): such a model is refused with
    botocore's own words, naming the member."""
    import gzip
    import json

    data = tmp_path / "botocore" / "data"
    shutil.copytree(unzipped / "botocore" / "data" / "ecs", data / "ecs")
    (model,) = data.glob("ecs/*/service-2.json.gz")
    document = json.loads(gzip.decompress(model.read_bytes()))
    del document["shapes"]["DeploymentConfiguration"]["members"]["canaryConfiguration"]
    model.write_bytes(gzip.compress(json.dumps(document).encode()))
    (tmp_path / "botocore-1.40.60.dist-info").mkdir()
    refused = sdk_problems(tmp_path)
    assert refused and all(r.startswith("botocore 1.40.60: ") for r in refused)
    assert all("Unknown parameter in deploymentConfiguration: \"canaryConfiguration\"" in r
               for r in refused)  # fmt: skip
    assert any("as canary" in r for r in refused)


def test_the_shipped_zip_is_for_the_configured_runtime(shipped_zip):
    abi = RUNTIME.removeprefix("python")
    shared = [n for n in shipped_zip.namelist() if n.endswith(".so")]
    assert shared and all(f"cpython-{abi.replace('.', '')}-" in n for n in shared)


def test_shared_objects_in_the_zip_are_stripped(shipped_zip, tmp_path):
    for name in [n for n in shipped_zip.namelist() if n.endswith(".so")]:
        path = Path(shipped_zip.extract(name, tmp_path))
        sections = subprocess.run(
            ["objdump", "-h", str(path)], check=True, capture_output=True, text=True
        ).stdout
        assert ".symtab" not in sections and ".debug_info" not in sections, name


def test_no_module_in_the_zip_imports_a_module_the_slimming_dropped(with_sources):
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
        dropped |= modules(home, top) - modules(with_sources, top)
    assert "aws_lambda_powertools.utilities.parser" in dropped  # the comparison sees the drops
    offenders = set()
    for path in with_sources.rglob("*.py"):
        module = _module_of(str(path.relative_to(with_sources)))
        for name in set(_imports(module, path.read_text(), path.name == "__init__.py")) & dropped:
            offenders.add((module, name))
    documented = {("pydantic._internal._generate_schema", "pydantic.v1")}
    assert {o for o in offenders if not o[1].startswith(NEVER_REACHED)} == documented
    assert {o[0] for o in offenders} - {"pydantic._internal._generate_schema"} <= {
        "aws_lambda_powertools.shared.functions"
    }


def _run_in_runtime(interpreter: str, unzipped: Path, code: str) -> str:
    """`code` as Lambda runs it: the runtime's interpreter, the zip first (/var/task is first on
    the runtime's search path), then what the runtime provides (its own boto3, from this venv),
    nothing else (`-S`: no site-packages); /var/task is read-only, so no bytecode is written."""
    runtime = unzipped.parent / f"{unzipped.name}-runtime"
    if not runtime.exists():
        runtime_libraries(runtime)
    result = subprocess.run(
        [interpreter, "-S", "-c", code],
        check=False,
        cwd=unzipped,
        capture_output=True,
        text=True,
        env={
            "PYTHONPATH": f"{unzipped}{os.pathsep}{runtime}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_METRICS_DISABLED": "true",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_zip_imports_app_and_its_handlers_with_its_own_sdk(interpreter, unzipped):
    code = (
        "import app, chalicelib.handlers as h, sys, botocore, boto3\n"
        "assert callable(app.on_image_pushed) and callable(h.image_pushed)\n"
        "assert 'aws_xray_sdk' not in sys.modules and 'moto' not in sys.modules\n"
        "print(app.__file__, botocore.__file__, boto3.__file__, h.berth)"
    )
    said = _run_in_runtime(interpreter, unzipped, code).split()
    assert said[:3] == [str(unzipped / f) for f in
                        ("app.pyc", "botocore/__init__.pyc", "boto3/__init__.pyc")]  # fmt: skip


CLIENT_FACTS = (
    "from chalicelib.adapters.clients import SERVICES, berth_session\n"
    "session = berth_session()\n"
    "for region in ('us-east-1', 'eu-west-1', 'cn-north-1'):\n"
    "    for name in SERVICES:\n"
    "        c = session.client(name, region_name=region, aws_access_key_id='k',\n"
    "                           aws_secret_access_key='s')\n"
    "        m = c.meta\n"
    "        print(region, name, m.endpoint_url, m.service_model.signing_name,\n"
    "              len(m.service_model.operation_names))\n"
)


def test_the_zips_slimmed_sdk_resolves_every_client_as_the_full_sdk_does(interpreter, unzipped):
    """The zip keeps only Berth's services in botocore's data (and their entries in
    endpoints.json): each client gets the same endpoint, signing name and operations in three
    partitions' regions as from the complete botocore of this venv."""
    from_zip = _run_in_runtime(interpreter, unzipped, CLIENT_FACTS).splitlines()
    full = subprocess.run(
        [sys.executable, "-c", CLIENT_FACTS], check=True, capture_output=True, text=True,
        cwd=ROOT, env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": os.environ.get("PATH", "")},
    ).stdout.splitlines()  # fmt: skip
    assert len(from_zip) == 3 * len(SERVICES)
    assert from_zip == full


def test_the_zip_ships_the_modules_a_cold_start_imports_as_bytecode_for_its_runtime(
    interpreter, unzipped
):
    """Issue 17, cold start: Lambda cannot write bytecode to /var/task, so every module imported
    from source is compiled on every cold start. Each module that app and the handlers' flows
    load ships as a sourceless .pyc for the runtime's version (its magic number), named in
    tracebacks by its path in the zip."""
    code = IMPORT_EVERY_HANDLER_MODULE + (
        "import importlib.util, sys\n"
        "mine = [m for m in list(sys.modules.values()) if (getattr(m, '__file__', None) or '')"
        ".startswith(" + repr(f"{unzipped}/") + ")]\n"
        "print('\\n'.join(sorted(m.__file__ for m in mine)))\n"
        "import chalicelib.handlers as h\n"
        "print('code', h.image_pushed.__code__.co_filename)\n"
        "print('magic', importlib.util.MAGIC_NUMBER.hex())"
    )
    lines = _run_in_runtime(interpreter, unzipped, code).split()
    magic = lines[lines.index("magic") + 1]
    files = [line for line in lines if line.startswith(f"{unzipped}/")]
    assert len(files) > 150  # app, chalicelib, pydantic, powertools, chalice, yaml ...
    assert [f for f in files if not f.endswith(".pyc") and not f.endswith(".so")] == []
    assert lines[lines.index("code") + 1] == "chalicelib/handlers.py"
    for name in ("app.pyc", "chalicelib/handlers.pyc", "pydantic/main.pyc", "yaml/__init__.pyc"):
        assert (unzipped / name).read_bytes()[:4].hex() == magic, name
        assert not (unzipped / name.replace(".pyc", ".py")).exists()
    assert list(unzipped.rglob("__pycache__")) == []


def test_a_lambda_that_reads_no_spec_file_does_not_load_the_yaml_parser(interpreter, unzipped):
    """Issue 17, cold start: only the spec upload's Lambda parses files. The others (a push's,
    an ECS event's, a batch's, the sweep's, the hook's) read accepted specs from DynamoDB and name
    YAML positions only as values (chalicelib.spec.located), so neither importing app nor their flows
    loads a YAML parser; the spec upload's flow does when it parses."""
    flows = ["image_push", "rollout", "schema", "batches", "sweep", "verify"]
    code = (
        "import app, importlib, sys\n"
        f"for flow in {flows!r}: importlib.import_module('chalicelib.flows.' + flow)\n"
        "print(sorted(m for m in sys.modules if 'yaml' in m))\n"
        "from chalicelib.errors import SpecError\n"
        "from chalicelib.spec.parse import parse_spec\n"
        "try: parse_spec(b'a: 1', 'specs/dev/x.yaml')\n"
        "except SpecError: pass\n"
        "print('yaml' in sys.modules)"
    )
    said = _run_in_runtime(interpreter, unzipped, code).split()
    assert said == ["[]", "True"]


def test_app_imports_with_the_collector_paused_then_frozen_and_running(interpreter, unzipped):
    """Issue 17, cold start: app.py pauses the cyclic collector while the handlers import and
    freezes what they built; the collector must run again afterwards (a Lambda that kept it off
    would never free a reference cycle)."""
    said = _run_in_runtime(
        interpreter, unzipped,
        "import gc\nassert gc.isenabled() and gc.get_freeze_count() == 0\nimport app\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 10_000)",
    )  # fmt: skip
    assert said.split() == ["True", "True"]


def test_the_zip_carries_each_stages_environments_file_read_without_a_yaml_parser(
    interpreter, unzipped
):
    """Issue 28: the stages' environments, declared in chalicelib/environments/<stage>.yaml, are
    in the zip (deployed with the stack; spec uploaders cannot write them), validated and
    compiled to JSON by the packaging, and the Lambdas' Settings read the fence from there
    without loading a YAML parser (issue 17, cold start)."""
    assert sorted(p.name for p in (unzipped / "chalicelib" / "environments").iterdir()) == [
        "dev.json", "prod.json",
    ]  # fmt: skip
    code = (
        "import sys\n"
        "from chalicelib.settings import Settings\n"
        "env = {'AWS_REGION': 'us-east-1', 'BERTH_SPEC_BUCKET': 'b', 'BERTH_TOPIC_ARN': 't',\n"
        "       'BERTH_STAGE': 'prod'}\n"
        "fence = Settings.from_environment(env).fence\n"
        "print(sorted(fence.clusters['prod']), fence.self_approval['prod'])\n"
        "print(sorted(m for m in sys.modules if 'yaml' in m))\n"
    )
    assert _run_in_runtime(interpreter, unzipped, code).split("\n")[:2] == [
        "['wso2-prod'] False", "[]",
    ]  # fmt: skip


def test_packaging_refuses_a_bad_environments_file_naming_the_problem(tmp_path):
    from berth.chalice_package import _compile_environments

    (tmp_path / "chalicelib" / "environments").mkdir(parents=True)
    (tmp_path / "chalicelib" / "environments" / "prod.yaml").write_text(
        "berthEnvironments: 1\nenvironments:\n  prod: {clusters: [wso2-prod], adopts: []}\n"
    )
    with pytest.raises(SystemExit) as refused:
        _compile_environments(tmp_path)
    assert str(refused.value) == (
        "refusing to package:\nchalicelib/environments/prod.yaml:3:33: environments.prod.adopts: "
        "unknown field (did you mean 'adopt'?)"
    )
