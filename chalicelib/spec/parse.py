"""Reading a spec file: load it with positions, validate its types (`chalicelib.spec.model`), then
run the rules (`chalicelib.spec.rules`) and, given a stage, its fence; every problem reported
together as file:line:col: field: reason, dependent rules quiet while a field they read is wrong.

The one entry that composes the rules: nothing in the model or the rules imports this module.
"""

from __future__ import annotations

import copy as copy_module
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from chalicelib.errors import SpecError, SpecProblem

from .fence import StageFence
from .ha import expand_ha, nodes_of
from .located import Located, Path, SourceError, path_text
from .model import Spec
from .rules.containers import sidecar_fence_problems
from .rules.contract import contract_problems
from .rules.fence import fence_problems
from .rules.ha import ha_problems
from .rules.hostnames import hostname_problems
from .rules.keystores import keystore_problems
from .rules.names import did_you_mean
from .rules.safety import safety_problems
from .rules.schema_init import schema_init_fence_problems, schema_init_problems
from .rules.service_connect import service_connect_problems
from .rules.services import dependency_cycle_problems, service_problems
from .rules.shared_resources import shared_resource_problems
from .rules.strategies import strategy_fence_problems, strategy_problems
from .rules.verify_endpoints import verify_endpoint_problems


def rule_problems(spec: Spec) -> list[tuple[Path, str]]:
    """Rules that span fields, in the order they were always told; the dependency cycle only
    once nothing else is wrong."""
    problems = service_problems(spec)
    problems += contract_problems(spec)  # WSO2 images' variables and replicas
    problems += service_connect_problems(spec)
    problems += schema_init_problems(spec)
    problems += strategy_problems(spec)
    return problems or dependency_cycle_problems(spec)


def fenced_problems(spec: Spec, fence: StageFence) -> list[tuple[Path, str]]:
    """What the stage's fence refuses of a spec."""
    return (
        fence_problems(spec, fence)
        + sidecar_fence_problems(spec, fence)
        + schema_init_fence_problems(spec, fence)
        + strategy_fence_problems(spec, fence)
        + verify_endpoint_problems(spec, fence)
        + shared_resource_problems(spec, fence)
        + keystore_problems(spec, fence)
        + hostname_problems(spec, fence)
    )


# ---- error shaping -----------------------------------------------------------------------------


def _fields_at(model: Any, loc: tuple[str | int, ...]) -> list[str]:
    """The field names (aliases) accepted at `loc` inside `model`, for "did you mean"."""
    current: Any = model
    for part in loc:
        origin = typing.get_origin(current)
        if origin is Annotated:
            current = typing.get_args(current)[0]
            origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            by_alias = {(f.alias or n): f.annotation for n, f in current.model_fields.items()}
            current = by_alias.get(str(part))
        elif origin is dict:
            current = typing.get_args(current)[1]
        elif origin is list:
            current = typing.get_args(current)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(current) if a is not type(None)]
            current = models[0] if models else None
        else:
            return []
    if typing.get_origin(current) in (typing.Union, types.UnionType):
        current = next(a for a in typing.get_args(current) if a is not type(None))
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = tuple(error["loc"][:-1])
        key = str(error["loc"][-1])
        return f"unknown field{did_you_mean(key, _fields_at(Spec, parent))}"
    if kind == "missing":
        return "required field is missing"
    if error["input"] is None and kind.endswith("_type"):
        # `track:` with nothing after it is YAML's null, not an empty string.
        return "is empty: give it a value (or remove the line to take the default)"
    if kind == "list_type" and isinstance(error["input"], (str, int, float, bool)):
        return (
            f"{error['input']!r} is one value where a list belongs: write [{error['input']}] or "
            "one '- item' per line"
        )
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in (
        "literal_error",
        "string_pattern_mismatch",
        "int_parsing",
        "int_type",
        "string_type",
        "bool_parsing",
        "dict_type",
        "list_type",
        "model_type",
    ):
        message = (
            f"{error['input']!r}: {message}"
            if not isinstance(error["input"], (dict, list))
            else message
        )
    return message


def _problem(file: str, doc: Located | None, loc: Path, reason: str) -> SpecProblem:
    position = doc.position(loc) if doc else None
    line, column = position if position else (None, None)
    return SpecProblem(file, path_text(loc), reason, line, column)


def parse_spec(raw: bytes, file: str, fence: StageFence | None = None) -> Spec:
    """Validate a spec file's bytes (and, given a stage's fence, what it may reach); raise
    SpecError listing every problem found."""
    from .source import load_document  # only the spec upload's Lambda parses files

    try:
        doc = load_document(raw, as_json=file.lower().endswith(".json"))
    except SourceError as exc:
        raise SpecError([SpecProblem(file, "", exc.reason, exc.line, exc.column)]) from None
    if not isinstance(doc.data, dict):
        kind = {"NoneType": "null", "str": "string", "int": "number", "float": "number"}.get(
            type(doc.data).__name__, type(doc.data).__name__
        )
        raise SpecError(
            [_problem(file, doc, (), f"a spec is a mapping at the top level, not a {kind}")]
        )
    if "berth" not in doc.data:
        raise SpecError(
            [_problem(file, doc, (), "not a Berth spec: the top-level key 'berth: 1' is missing")]
        )
    spec, errors, removed = _validated(doc.data)
    located = [_problem(file, doc, loc, reason) for loc, reason in errors]
    if spec is not None:
        # The rules run on what did parse; what they say about a removed field's default is
        # not the author's problem (the field's own error already is). They check what ECS will
        # receive: an `ha: true` service as its two nodes, their problems located where the
        # service is written.
        ha = ha_problems(spec)
        nodes, spec = nodes_of(spec), expand_ha(spec)
        found = ha + _as_written(rule_problems(spec) + safety_problems(spec), nodes)
        reached = _as_written(fenced_problems(spec, fence), nodes) if fence else []
        if removed:
            found = [p for p in found if not _follows_from(p[0], removed, doc.data)]
            reached = [] if ("environment",) in removed else reached  # roles, secrets, groups
            reached = [p for p in reached if not _follows_from(p[0], removed, doc.data)]
        located += [_problem(file, doc, loc, reason) for loc, reason in found + reached]
        if not located:
            return spec
    unique = list(dict.fromkeys(located))
    raise SpecError(sorted(unique, key=_by_position))


def _as_written(problems: list[tuple[Path, str]], nodes: dict[str, str]) -> list[tuple[Path, str]]:
    """Problems of an HA service's nodes (`services.apim-1...`) at the service in the file."""
    return [
        (("services", nodes[p[1]], *p[2:]) if p[:1] == ("services",) and len(p) > 1
         and p[1] in nodes else p, reason)
        for p, reason in problems
    ]  # fmt: skip


# A required field's stand-in when its value is refused, so that the rest of the document (the
# other services, for a bad image) is still checked; problems about it are dropped with the field.
_STAND_INS: dict[Path, Any] = {("berth",): 1, ("environment",): "x", ("cluster",): "x"}
_SERVICE_STAND_INS: dict[str, Any] = {"image": "x"}
_ROUNDS = 6


def _validated(data: Any) -> tuple[Spec | None, list[tuple[Path, str]], list[Path]]:
    """Validate the document, removing each field that fails (its parent, when a field is
    required) and validating again, so that checks that only run on a valid model (the
    cross-field rules, "after" validators) still run on what did parse. Returns the spec when
    one was built, every problem with the field it is about, and the paths removed."""
    problems: list[tuple[Path, str]] = []
    removed: list[Path] = []
    for _ in range(_ROUNDS):
        try:
            return Spec.model_validate(data), problems, removed
        except ValidationError as exc:
            errors = exc.errors()
        cut: list[Path] = []
        unknown: list[Path] = []
        for error in errors:
            loc = tuple(error["loc"])
            if not removed or not _follows_from(loc, removed, data):
                problems.append((loc, _reason(error)))
            if error["type"] == "extra_forbidden":
                unknown.append(loc)  # no rule reads a field the model does not have
            else:
                cut.append(_removable(data, loc, error["type"] == "missing"))
        data, _ = _without(data, unknown)
        data, done = _without(data, cut, stand_in=True)
        if not done and not unknown:
            break
        removed += done
    return None, problems, removed


def _removable(data: Any, loc: Path, missing: bool) -> Path:
    """The part of the document to remove for an error at `loc`: the deepest part of `loc` the
    document holds (a dict key error, or a union member's name, is not a field); the parent of
    a missing field."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if not _holds(current, part):
            break
        current = current[part]
        path.append(part)
    if missing and tuple(path) == loc[:-1]:
        return (*path, loc[-1])  # _without stands in for it, or removes the parent
    return tuple(path)


# Which fields of a service each cross-field rule reads, by the field removed: a rule's problem
# about the same service at one of these fields may be a follow-on of the removal. A field not
# listed (product, a new one) may change anything in its service.
_READ_WITH: dict[str, set[str]] = {
    "cpu": {"cpu", "memory", "heap", "containers"},
    "memory": {"cpu", "memory", "heap", "containers"},
    "heap": {"heap"},
    "ports": {"ports", "loadBalancer", "loadBalancers", "containers"},
    "environment": {"environment", "secrets", "desiredCount", "schemaInit"},
    "secrets": {"environment", "secrets", "executionRoleArn", "containers", "schemaInit"},
    "image": {"image"},
    "network": {"network"},
    "loadBalancer": {"loadBalancer", "loadBalancers", "healthCheckGracePeriod", "deployment"},
    "loadBalancers": {"loadBalancer", "loadBalancers", "healthCheckGracePeriod", "deployment"},
    "healthCheck": {"healthCheck", "containers"},
    "healthCheckGracePeriod": {"healthCheckGracePeriod"},
    "dependsOn": {"dependsOn"},
    "deployment": {"deployment", "loadBalancer", "loadBalancers"},
    "desiredCount": {"desiredCount", "environment", "secrets"},
    "logGroup": {"logGroup"},
    "executionRoleArn": {"executionRoleArn"},
    "taskRoleArn": {"taskRoleArn", "containers"},
    "architecture": {"architecture"},
    "stopTimeout": {"stopTimeout"},
    "tags": set(),
    "ephemeralStorage": {"ephemeralStorage"},
    "serviceConnect": {"serviceConnect"},
}
# The same for a top-level field: the fields of every service that read it (None: all of them).
_TOP_READ_WITH: dict[str, set[str] | None] = {
    "berth": set(),
    "tags": set(),
    "cluster": {"cluster"},
    "network": {"network"},
    "logGroup": {"logGroup"},
    "environment": {"logGroup"},
    "executionRoleArn": {"executionRoleArn"},
    "taskRoleArn": {"taskRoleArn", "containers"},
    "serviceConnect": {"serviceConnect"},
}


def _follows_from(problem: Path, removed: list[Path], data: Any) -> bool:
    """Might the problem at `problem` be caused only by removing the fields at `removed`?"""
    return any(_follows(problem, path, data) for path in removed)


def _follows(problem: Path, path: Path, data: Any) -> bool:
    if problem[: len(path)] == path or not path:
        return True
    if path[0] != "services":
        read = _TOP_READ_WITH.get(str(path[0]))
        field = problem[2] if problem[:1] == ("services",) and len(problem) > 2 else problem[0]
        return read is None or field in read
    if len(path) == 1:
        return True
    if len(path) == 2:  # a whole service: the services that depend on it, and the order
        return problem == ("services",) or (
            len(problem) == 4 and problem[2] == "dependsOn" and _at(data, problem) == path[1]
        )
    if path[2] == "dependsOn" and problem == ("services",):
        return True
    if problem[:2] != path[:2]:
        return False
    read = _READ_WITH.get(str(path[2]))
    return read is None or len(problem) < 3 or problem[2] in read


def _at(data: Any, path: Path) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _without(data: Any, paths: list[Path], stand_in: bool = False) -> tuple[Any, list[Path]]:
    """A deep copy of `data` without the values at `paths` (list items from the last, so that
    indices hold). With `stand_in`, a required top-level or image field gets a stand-in value
    (_STAND_INS) and a missing one takes its parent with it; returns the paths removed or stood
    in for in their place."""
    copy = copy_module.deepcopy(data)
    done: list[Path] = []
    for path in sorted(set(paths), key=_removal_order):
        if not path:
            continue
        parent = _at(copy, path[:-1])
        key = path[-1]
        if stand_in and isinstance(parent, dict) and (stood := _stand_in(path)) is not None:
            parent[key] = stood
            done.append(path)
            continue
        if _holds(parent, key):
            parent.pop(key)
            done.append(path)
        elif stand_in and len(path) > 1:
            grand = _at(copy, path[:-2])
            if isinstance(grand, dict) and path[-2] in grand:
                grand.pop(path[-2])
                done.append(path[:-1])
    return copy, done


def _holds(container: Any, key: str | int) -> bool:
    if isinstance(container, dict):
        return key in container
    return isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container)


def _stand_in(path: Path) -> Any:
    if path in _STAND_INS:
        return _STAND_INS[path]
    if len(path) == 3 and path[0] == "services":
        return _SERVICE_STAND_INS.get(str(path[2]))
    return None


def _removal_order(path: Path) -> tuple[int, list[tuple[int, str]]]:
    # Deepest first, and within a list the highest index first.
    return -len(path), [(-p, "") if isinstance(p, int) else (0, p) for p in path]


def _by_position(problem: SpecProblem) -> tuple[int, int]:
    return problem.line or 0, problem.column or 0


def load_spec_file(path: str, fence: StageFence | None = None) -> Spec:
    """Read and validate a spec from disk."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_READ)
    except OSError as exc:
        raise SpecError([SpecProblem(path, "", f"cannot read file: {exc.strerror}")]) from None
    return parse_spec(raw, path, fence)


# Read one byte past the limit so the size error can say the file is too large.
MAX_FILE_READ = 256 * 1024 + 1
