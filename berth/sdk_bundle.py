"""The AWS SDK the Lambda zip carries, and only as much of it as Berth's Lambdas reach.

`berth.chalice_package` builds the zip; this module says which SDK packages go in, slims
botocore's data to the services Berth calls, and checks that the SDK shipped accepts every
request Berth renders.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The AWS SDK ships in the zip, pinned in requirements.txt to the version the tests and the
# sandbox run (pyproject.toml pins the same). The runtime's own boto3 "depends on the runtime
# version and your AWS Region" and Lambda updates it on its own schedule; AWS's advice: "we
# recommend you add all of your function's dependencies to your deployment package, even if
# versions of them are included in the Lambda runtime. This includes the Boto3 SDK" (Lambda
# developer guide, "Working with .zip file archives for Python Lambda functions", Runtime
# dependencies in Python). /var/task, where the zip is mounted, is the first place the runtime's
# search path looks (same page, "Dependency search path and runtime-included libraries"), so the
# zip's botocore is the one imported. Without it, an older runtime SDK refuses `strategy`,
# `lifecycleHooks` (absent before botocore 1.39.8) or `canaryConfiguration` (before 1.40.61) with
# ParamValidationError after the task definition was registered.
SDK = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# What of the SDK no Lambda of Berth's reaches: boto3's resource models and examples (Berth
# creates clients only), botocore's API examples (documentation), and other services' models.
# dateutil's bundled time zone database: botocore reads UTC and local time only
# (dateutil.tz.tzutc, tzlocal), never a zone by name, nor recurrence rules. What needs a package
# the zip does not carry: botocore's and s3transfer's CRT paths (awscrt), urllib3's pyOpenSSL and
# SOCKS support (pyopenssl, PySocks); urllib3's Emscripten backend (a browser's), s3transfer's
# process pool (only when asked for), botocore's Stubber (tests).
SDK_DROPPED = (
    "boto3/data", "boto3/examples", "dateutil/zoneinfo/dateutil-zoneinfo.tar.gz",
    "dateutil/zoneinfo/rebuild.py", "dateutil/rrule.py", "dateutil/easter.py",
    "botocore/crt/auth.py", "s3transfer/crt.py", "s3transfer/processpool.py", "botocore/stub.py",
    "urllib3/contrib/emscripten", "urllib3/contrib/pyopenssl.py", "urllib3/contrib/socks.py",
)  # fmt: skip
BOTOCORE_DATA = "botocore/data"
# Waiters are not kept: no Lambda of Berth's waits with one (`get_waiter` is the operator CLI's and
# the tests'); paginators are (ECR DescribeImages, DynamoDB Query and Scan).
MODEL_FILES = ("service-2.json.gz", "service-2.json", "endpoint-rule-set-1.json.gz",
               "endpoint-rule-set-1.json", "paginators-1.json")  # fmt: skip
# The documentation strings of a service model (operations', shapes' and members'), four fifths of
# its size: botocore reads them only to write a client method's docstring (botocore.docs, lazily,
# when its __doc__ is read: help() in a shell), never to build, validate, sign or parse a request.
# 1.1 MiB of the zip's 1.4 MiB of models.
DOC_KEYS = ("documentation", "documentationUrl")


def drop(root: Path, relative: str) -> None:
    path = root / relative
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _newest_version(service: Path) -> Path:
    """botocore's loader takes a service's newest API version (the directory whose name sorts
    last: `Loader.determine_latest_version`); Berth's clients never ask for another."""
    return sorted(p for p in service.iterdir() if p.is_dir())[-1]


def slim_sdk(root: Path, services: Iterable[str]) -> None:
    """botocore's data for Berth's services only: each one's newest model, rules, paginators and
    waiters; the files every client reads (endpoints, partitions, retry and default
    configuration) stay."""
    for relative in SDK_DROPPED:
        drop(root, relative)
    data = root / BOTOCORE_DATA
    if not data.is_dir():
        return
    kept = set(services)
    for service in sorted(p for p in data.iterdir() if p.is_dir()):
        if service.name not in kept:
            shutil.rmtree(service)
            continue
        newest = _newest_version(service)
        for version in [p for p in service.iterdir() if p.is_dir() and p != newest]:
            shutil.rmtree(version)
        for path in [p for p in newest.iterdir() if p.name not in MODEL_FILES]:
            path.unlink()
        _strip_documentation(newest)
    _slim_endpoints(data, {_endpoint_prefix(data / s) for s in kept if (data / s).is_dir()})


def _undocumented(definition: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in definition.items() if k not in DOC_KEYS}


def strip_documentation(model: dict[str, Any]) -> dict[str, Any]:
    """A service model without its documentation strings: each operation's, shape's and
    member's `documentation` (and `documentationUrl`) attribute, never a member named so."""
    stripped = {**model, "metadata": _undocumented(model.get("metadata", {}))}
    stripped.pop("documentation", None)
    stripped["operations"] = {
        name: _undocumented(operation) for name, operation in model["operations"].items()
    }
    shapes = {}
    for name, shape in model["shapes"].items():
        kept = _undocumented(shape)
        if "members" in kept:
            kept["members"] = {m: _undocumented(v) for m, v in kept["members"].items()}
        shapes[name] = kept
    stripped["shapes"] = shapes
    return stripped


def _strip_documentation(version: Path) -> None:
    compressed = version / "service-2.json.gz"
    if not compressed.exists():
        return
    model = strip_documentation(json.loads(gzip.decompress(compressed.read_bytes())))
    text = json.dumps(model, separators=(",", ":"))
    compressed.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def _endpoint_prefix(service: Path) -> str:
    newest = _newest_version(service)
    compressed = newest / "service-2.json.gz"
    raw = gzip.decompress(compressed.read_bytes()) if compressed.exists() else (
        (newest / "service-2.json").read_bytes()
    )
    return str(json.loads(raw)["metadata"]["endpointPrefix"])


def _slim_endpoints(data: Path, prefixes: set[str]) -> None:
    """endpoints.json with each partition's entries for Berth's services only (botocore's
    EndpointResolver looks a service up by its model's `endpointPrefix`: `api.ecr` for ECR),
    written without indentation: 1.2 MiB of the zip otherwise."""
    path = data / "endpoints.json"
    if not path.exists():
        return
    endpoints = json.loads(path.read_text())
    for partition in endpoints["partitions"]:
        services = partition.get("services", {})
        partition["services"] = {k: v for k, v in services.items() if k in prefixes}
    path.write_text(json.dumps(endpoints, separators=(",", ":"), sort_keys=True))


def sdk_problems(root: Path) -> list[str]:
    """What the zip's own SDK would refuse of the requests Berth renders: none when the zip holds
    no botocore (a zip packaged without its requirements, as some tests do)."""
    data = root / BOTOCORE_DATA
    if not data.is_dir():
        return []
    from berth.request_shapes import refused_requests

    version = _dist_version(root, "botocore")
    return [f"botocore {version}: {problem}" for problem in refused_requests(data)]


def _dist_version(root: Path, name: str) -> str:
    for info in root.glob(f"{name}-*.dist-info"):
        return info.name.removeprefix(f"{name}-").removesuffix(".dist-info")
    return "(unknown version)"
