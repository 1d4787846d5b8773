"""`chalice package` for the Lambda runtime .chalice/config.json names.

Chalice 1.34 takes the runtime from the interpreter it runs under (`Config.lambda_python_version`
ignores config.json; aws/chalice#1416), and when it fetches manylinux wheels for that runtime's
ABI it passes `--abi` but not `--python-version`, so pip still matches wheels against the running
interpreter. Run under the project's Python 3.11 it would ship python3.11, past its Lambda
deprecation (2026-06-30). This runs chalice's own CLI with the runtime from config.json and
wheels fetched for it, as chalice does when it builds on a machine unlike Lambda.

Then it slims the zip to what the Lambdas need (`slim`): no powertools module Berth's code cannot
reach, no pydantic.v1 or mypy plugin, no stubs, tests, caches or stale RECORDs, shared objects
stripped; and bytecode compiled for the runtime when the packaging interpreter is that runtime
(Lambda's /var/task is read-only, so a zip without bytecode compiles every module it imports on
every cold start). `--runtime pythonX.Y` packages for another runtime than config.json's (the
bench and tests use the interpreter's own, to import the zip they build).
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
# model, and Berth's models are all v2: `import app` builds every one of them) and mypy plugin.
DROPPED = ("pydantic/v1", "pydantic/mypy.py")


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


def _drop(root: Path, relative: str) -> None:
    path = root / relative
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _trim(root: Path) -> None:
    for relative in DROPPED:
        _drop(root, relative)
    _drop(root, "berth")  # the operator package, should chalice ever pick it up
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
        _drop(info, "RECORD")  # lists files and hashes this trimming changed
        _drop(info, "sboms")
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


PROBE = """
import importlib, pkgutil, sys
import app, chalicelib
for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
    importlib.import_module(module.name)
root = sys.argv[1]
print("\\n".join(sorted(m.__file__ for m in list(sys.modules.values())
                          if (getattr(m, "__file__", None) or "").startswith(root))))
"""


def _compile(root: Path) -> int:
    """Bytecode for the modules a handler imports (app, all of chalicelib, what they load), found
    by importing them from the package with the runtime's boto3; rarely used modules compile on
    first use as before, which keeps the zip small. Returns how many were compiled."""
    import py_compile

    import boto3

    boto3_home = Path(str(boto3.__file__)).parent.parent
    env = {**os.environ, "POWERTOOLS_METRICS_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}
    loaded = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:0] = {[str(root), str(boto3_home)]!r}"
         f"\nexec({PROBE!r})", str(root)],
        check=True, capture_output=True, text=True, cwd=root,
        env=env,
    ).stdout.split()  # fmt: skip
    sources = [Path(f) for f in loaded if f.endswith(".py")]
    for source in sources:
        py_compile.compile(
            str(source), doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )  # fmt: skip
    return len(sources)


def slim(zip_path: Path, runtime: str) -> str:
    """Rewrite `zip_path` with only what the Lambdas need; one line saying what was done."""
    before = _unzipped_size(zip_path)
    with tempfile.TemporaryDirectory(prefix="berth-slim-") as work:
        root = Path(work)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
            modes = {i.filename: i.external_attr for i in archive.infolist()}
        _trim(root)
        _strip(root)
        interpreter = f"python{sys.version_info.major}.{sys.version_info.minor}"
        if interpreter == runtime:
            bytecode = f"bytecode for {_compile(root)} modules"
        else:
            bytecode = f"no bytecode: packaged by {interpreter}, not the runtime {runtime}"
        _write(zip_path, root, modes)
    after = _unzipped_size(zip_path)
    mib = 1024 * 1024
    return f"slimmed {zip_path}: {before / mib:.1f} -> {after / mib:.1f} MiB unzipped; {bytecode}"


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


def _runtime_option(argv: list[str]) -> tuple[str | None, list[str]]:
    if "--runtime" not in argv:
        return None, argv
    at = argv.index("--runtime")
    return argv[at + 1], argv[:at] + argv[at + 2 :]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m berth.chalice_package [--runtime pythonX.Y] [chalice package arguments]`, run in
    the project; the last argument is chalice's output directory."""
    from chalice import cli
    from chalice.config import Config
    from chalice.deploy.packager import PipRunner

    override, arguments = _runtime_option(list(argv if argv is not None else sys.argv[1:]))
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
    print(slim(Path(arguments[-1]) / "deployment.zip", runtime), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
