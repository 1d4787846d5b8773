"""`chalice package` for the Lambda runtime .chalice/config.json names.

Chalice 1.34 takes the runtime from the interpreter it runs under (`Config.lambda_python_version`
ignores config.json; aws/chalice#1416), and when it fetches manylinux wheels for that runtime's
ABI it passes `--abi` but not `--python-version`, so pip still matches wheels against the running
interpreter. Run under the project's Python 3.11 it would ship python3.11, past its Lambda
deprecation (2026-06-30). This runs chalice's own CLI with the runtime from config.json and
wheels fetched for it, as chalice does when it builds on a machine unlike Lambda.

Then it slims the zip to what the Lambdas need (`slim`): no powertools module Berth's code cannot
reach, no pydantic.v1 or mypy plugin, no stubs, tests, caches or stale RECORDs, botocore's data
only for the services Berth calls (`chalicelib.adapters.clients.SERVICES`), shared objects
stripped; it refuses to ship a botocore whose ECS model lacks a member of any request Berth
renders (`berth.request_shapes`); and bytecode compiled by an interpreter of the runtime's
version (Lambda's /var/task is read-only, so a zip without bytecode compiles every module it
imports on every cold start).
A module that is compiled ships as bytecode only (a sourceless `.pyc` where its `.py` was, named
by its path in the zip so tracebacks still give file, line and function): bytecode beside the
source would cost as much again (2.5 MiB). `--runtime pythonX.Y` packages for another runtime
than config.json's; `--source-only` skips the bytecode (the tests read every module's source).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from berth.sdk_bundle import SDK, drop, sdk_problems, slim_sdk

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


# Powertools is trimmed to the modules Berth's code can reach by import statements, wherever they
# sit (lazy ones included), except event_handler (2.2 MiB with Swagger UI's assets): powertools
# reaches it only from shared.functions.pydantic_to_dict, when a pydantic model is handed to its
# JSON encoder or to Logger(log_event=True); Berth hands them dicts.
TRIMMED = "aws_lambda_powertools"
NEVER_REACHED = ("aws_lambda_powertools.event_handler",)
# Not needed at run time: pydantic's v1 package (pydantic 2 imports it only to warn about a v1
# model, and Berth's models are all v2: `import app` builds every one of them) and mypy plugin;
# pydantic.experimental, which no module outside it imports (nor pydantic's lazy `__getattr__`
# table) and Berth does not; annotated_types' test cases for libraries that implement it.
DROPPED = (
    "pydantic/v1", "pydantic/mypy.py", "pydantic/experimental", "annotated_types/test_cases.py",
)  # fmt: skip


def _module_of(name: str) -> str:
    module = name.removesuffix(".py").replace("/", ".")
    return module.removesuffix(".__init__")


def _imports(module: str, source: str, is_package: bool) -> Iterable[str]:
    """Every module an import statement in `source` may load, with its parent packages."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            stem = base[: len(base) - node.level + 1] if node.level else []
            target = ".".join([*stem, *([node.module] if node.module else [])])
            names = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        for name in names:
            parts = name.split(".")
            yield from (".".join(parts[:i]) for i in range(1, len(parts) + 1))


def reachable(root: Path, package: str, starts: Iterable[str], never: tuple[str, ...]) -> set[str]:
    """The modules of `package` under `root` that import statements reach from `starts`."""
    files = {_module_of(str(p.relative_to(root))): p for p in root.rglob("*.py")}
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        module = todo.pop()
        if module in seen or module not in files or module.startswith(never):
            continue
        seen.add(module)
        path = files[module]
        todo += _imports(module, path.read_text(), path.name == "__init__.py")
    return {m for m in seen if m == package or m.startswith(package + ".")}


def _trim(root: Path) -> None:
    for relative in DROPPED:
        drop(root, relative)
    drop(root, "berth")  # the operator package, should chalice ever pick it up
    from chalicelib.adapters.clients import SERVICES

    slim_sdk(root, SERVICES)
    for path in sorted(root.rglob("*"), reverse=True):
        if not path.exists():
            continue
        if (path.is_dir() and path.name in ("__pycache__", "tests")) or path.suffix == ".data":
            shutil.rmtree(path)
        elif path.suffix in (".pyc", ".pyi") or path.name == "py.typed":
            path.unlink()
    starts = [
        "app",
        *(_module_of(str(p.relative_to(root))) for p in root.glob("chalicelib/**/*.py")),
    ]
    keep = reachable(root, TRIMMED, starts, NEVER_REACHED)
    for path in sorted((root / TRIMMED).rglob("*.py")):
        if _module_of(str(path.relative_to(root))) not in keep:
            path.unlink()
    for path in sorted((root / TRIMMED).rglob("*"), reverse=True):
        if path.is_dir() and not any(path.rglob("*.py")):  # with its assets (Swagger UI's)
            shutil.rmtree(path)
    for info in root.glob("*.dist-info"):
        drop(info, "RECORD")  # lists files and hashes this trimming changed
        drop(info, "sboms")
        metadata = info / "METADATA"
        if metadata.exists():  # the headers stay (name, version, license); the README goes
            metadata.write_text(metadata.read_text().split("\n\n", 1)[0] + "\n")


def _strip(root: Path) -> None:
    shared = sorted(root.rglob("*.so"))
    if not shared:
        return
    strip = shutil.which("strip")
    if strip is None:
        raise SystemExit("strip (binutils) is needed to package Berth: apt-get install binutils")
    subprocess.run([strip, "--strip-unneeded", *map(str, shared)], check=True)


# What every Lambda of the zip may import: app and each module of chalicelib (the handlers import
# their flows lazily). The probe below, the bench and the tests run it in the runtime's interpreter.
IMPORT_EVERY_HANDLER_MODULE = """
import importlib, pkgutil
import app, chalicelib
for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
    importlib.import_module(module.name)
"""

# What creating Berth's clients loads (botocore's client, endpoint, signer, retry and parser
# modules, s3transfer for S3), compiled with the rest now that the SDK ships in the zip; no
# request is made.
CREATE_EVERY_CLIENT = """
from chalicelib.adapters.clients import SERVICES, berth_session
session = berth_session()
for service in SERVICES:
    session.client(service, region_name="us-east-1", aws_access_key_id="probe",
                   aws_secret_access_key="probe")
"""

PROBE = IMPORT_EVERY_HANDLER_MODULE + CREATE_EVERY_CLIENT + """
import sys
root = sys.argv[1]
print("\\n".join(sorted(m.__file__ for m in list(sys.modules.values())
                          if (getattr(m, "__file__", None) or "").startswith(root))))
"""

COMPILE = """
import py_compile, sys
root, sources = sys.argv[1], sys.argv[2:]
for source in sources:
    py_compile.compile(
        source, cfile=source[:-3] + ".pyc", dfile=source[len(root) + 1:], doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
"""


def _version_of(executable: str) -> str | None:
    try:
        said = subprocess.run(
            [executable, "-c", "import sys; print('python%d.%d' % sys.version_info[:2])"],
            check=True, capture_output=True, text=True, timeout=30,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return said


def runtime_interpreter(runtime: str) -> str | None:
    """An interpreter of the runtime's version (`python3.13`) to compile the zip's bytecode with:
    $BERTH_RUNTIME_PYTHON, else one on PATH, else pyenv's or the system's; None if there is none.
    Bytecode is valid across a version's patch releases (its magic number is fixed at release)."""
    version = runtime.removeprefix("python")
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    installed = sorted(
        pyenv.glob(f"{version}.*/bin/{runtime}"),
        key=lambda p: [int(n) for n in p.parts[-3].split(".") if n.isdigit()],
        reverse=True,
    )
    candidates = [
        os.environ.get("BERTH_RUNTIME_PYTHON"), shutil.which(runtime), *map(str, installed),
        f"/usr/bin/{runtime}", f"/usr/local/bin/{runtime}",
    ]  # fmt: skip
    for candidate in candidates:
        if candidate and Path(candidate).exists() and _version_of(candidate) == runtime:
            return candidate
    return None


def runtime_libraries(into: Path) -> Path:
    """A directory holding the SDK the Lambda runtime provides beside the zip, copied from the
    packaging environment (pure Python, so any interpreter version can import them). The zip
    carries its own SDK first on the path, so these are never imported from a zip `make package`
    built; they stand for the runtime in the tests and the bench."""
    import boto3

    home = Path(str(boto3.__file__)).parent.parent
    into.mkdir(parents=True, exist_ok=True)
    for name in SDK:
        (shutil.copytree if (home / name).is_dir() else shutil.copy)(home / name, into / name)
    return into


def _compile(root: Path, interpreter: str) -> int:
    """Bytecode for the modules a handler imports (app, all of chalicelib, what they load), found
    by importing them from the package with the runtime's interpreter and the zip alone on its
    path, and creating each of Berth's clients; each compiled module then ships as bytecode
    only. Rarely used modules keep their source and compile on first use, which keeps the zip
    small. Returns how many were compiled."""
    env = {
        "POWERTOOLS_METRICS_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": os.environ.get("PATH", ""),
    }  # fmt: skip
    path = [str(root)]  # the zip alone: it carries its SDK
    probe = subprocess.run(
        [interpreter, "-I", "-B", "-c", f"import sys; sys.path[:0] = {path!r}\nexec({PROBE!r})",
         str(root)],
        check=False, capture_output=True, text=True, cwd=root, env=env,
    )  # fmt: skip
    if probe.returncode != 0:
        raise SystemExit(f"the zip does not import as Lambda imports it:\n{probe.stderr[-3000:]}")
    loaded = probe.stdout.split()
    sources = sorted(f for f in loaded if f.endswith(".py"))
    subprocess.run([interpreter, "-I", "-c", COMPILE, str(root), *sources], check=True, env=env)
    for source in sources:
        Path(source).unlink()
    return len(sources)


def slim(zip_path: Path, runtime: str, bytecode: bool = True) -> str:
    """Rewrite `zip_path` with only what the Lambdas need; one line saying what was done."""
    before = _unzipped_size(zip_path)
    with tempfile.TemporaryDirectory(prefix="berth-slim-") as work:
        root = Path(work)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
            modes = {i.filename: i.external_attr for i in archive.infolist()}
        _trim(root)
        _strip(root)
        _compile_environments(root)
        refused = sdk_problems(root)
        if refused:
            raise SystemExit("refusing to package: " + "; ".join(refused))
        interpreter = runtime_interpreter(runtime) if bytecode else None
        if interpreter is not None:
            said = f"bytecode for {_compile(root, interpreter)} modules, by {interpreter}"
        elif bytecode:
            said = f"no bytecode: no {runtime} interpreter here (set BERTH_RUNTIME_PYTHON)"
        else:
            said = "no bytecode (--source-only)"
        _write(zip_path, root, modes)
    after = _unzipped_size(zip_path)
    mib = 1024 * 1024
    return f"slimmed {zip_path}: {before / mib:.1f} -> {after / mib:.2f} MiB unzipped; {said}"


def _compile_environments(root: Path) -> None:
    """Each stage's environments file, validated (packaging stops on a problem, located) and
    shipped as JSON in its place: the Lambdas read it with the json module, never a YAML
    parser (chalicelib.spec.environments.compiled_environments)."""
    from chalicelib.errors import EnvironmentsError
    from chalicelib.spec.environments import compiled, parse_environments

    for source in sorted((root / "chalicelib" / "environments").glob("*.yaml")):
        shown = source.relative_to(root).as_posix()
        try:
            declared = parse_environments(source.read_bytes(), shown)
        except EnvironmentsError as error:
            raise SystemExit(f"refusing to package:\n{error}") from None
        source.with_suffix(".json").write_text(compiled(declared))
        source.unlink()


def _write(zip_path: Path, root: Path, modes: dict[str, int]) -> None:
    """A reproducible zip: sorted names, fixed times, the modes chalice gave each file."""
    tmp = zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = path.relative_to(root).as_posix()
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = modes.get(name, 0o100644 << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    tmp.replace(zip_path)


def _unzipped_size(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as archive:
        return sum(i.file_size for i in archive.infolist())


def _runtime_option(argv: list[str]) -> tuple[str | None, bool, list[str]]:
    source_only = "--source-only" in argv
    argv = [a for a in argv if a != "--source-only"]
    if "--runtime" not in argv:
        return None, source_only, argv
    at = argv.index("--runtime")
    return argv[at + 1], source_only, argv[:at] + argv[at + 2 :]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m berth.chalice_package [--runtime pythonX.Y] [--source-only] [chalice package
    arguments]`, run in
    the project; the last argument is chalice's output directory."""
    from chalice import cli
    from chalice.config import Config
    from chalice.deploy.packager import PipRunner

    override, source_only, arguments = _runtime_option(
        list(argv if argv is not None else sys.argv[1:])
    )
    runtime = override or configured_runtime()
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
        cli.cli.main(args=["package", *arguments], prog_name="chalice", obj={})
    except SystemExit as exc:
        if exc.code:
            return int(exc.code)
    said = slim(Path(arguments[-1]) / "deployment.zip", runtime, bytecode=not source_only)
    print(said, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
