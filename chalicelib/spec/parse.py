"""Reading a spec file: load it with positions, validate its types (`chalicelib.spec.model`), then
run the rules (`chalicelib.spec.rules`) and, given a stage, its fence; every problem reported
together as file:line:col: field: reason. Errors of the file's shape (syntax, unknown fields,
types, empty values) are told alone; dependent rules are quiet while a field they read is wrong.

The one entry that composes the rules: nothing in the model or the rules imports this module.
"""

from __future__ import annotations

import copy as copy_module
from typing import Any

from pydantic import ValidationError

from chalicelib.errors import SpecError, SpecProblem

from .fence import StageFence
from .ha import expand_ha, nodes_of
from .located import Located, Path, SourceError, path_text
from .model import Spec
from .reasons import misspelt_field, validation_reason
from .rules.containers import sidecar_fence_problems
from .rules.contract import contract_problems
from .rules.credentials import credential_problems
from .rules.ei import ei_problems
from .rules.fence import fence_problems
from .rules.ha import ha_problems
from .rules.hostnames import hostname_problems
from .rules.keystores import keystore_problems
from .rules.persistence import persistence_problems
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
    problems += ei_problems(spec)  # what EI 6.6's image would ignore
    problems += persistence_problems(spec)  # APIM's index and local database
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
        + credential_problems(spec, fence)
        + hostname_problems(spec, fence)
    )


# ---- error shaping -----------------------------------------------------------------------------




def _problem(file: str, doc: Located | None, loc: Path, reason: str) -> SpecProblem:
    position = doc.position(loc) if doc else None
    line, column = position if position else (None, None)
    return SpecProblem(file, path_text(loc), reason, line, column)


located_problem = _problem


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
    structural = [(loc, reason) for loc, reason, shape in errors if shape]
    if structural:
        # The file's shape first, and alone: a rule reading a misspelt, mistyped or empty field
        # would only restate that error as several of its own (`enviroment:` is not four
        # "APIM_HOSTNAME is missing"), so the rules wait until every field reads.
        raise _located_error(file, doc, structural)
    located = [(loc, reason) for loc, reason, _ in errors]
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
        located += found + reached
        if not located:
            return spec
    raise _located_error(file, doc, located)


def _located_error(file: str, doc: Located, problems: list[tuple[Path, str]]) -> SpecError:
    """Every problem once, located, in file order."""
    located = [_problem(file, doc, loc, reason) for loc, reason in problems]
    return SpecError(sorted(dict.fromkeys(located), key=_by_position))


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


def _validated(data: Any) -> tuple[Spec | None, list[tuple[Path, str, bool]], list[Path]]:
    """Validate the document, removing each field that fails (its parent, when a field is
    required) and validating again, so that checks that only run on a valid model (the
    cross-field rules, "after" validators) still run on what did parse. Returns the spec when
    one was built, every problem with the field it is about and whether it is structural
    (_structural), and the paths removed."""
    problems: list[tuple[Path, str, bool]] = []
    removed: list[Path] = []
    for _ in range(_ROUNDS):
        try:
            return Spec.model_validate(data), problems, removed
        except ValidationError as exc:
            errors = exc.errors()
        cut: list[Path] = []
        unknown: list[Path] = []
        meant = {misspelt_field(tuple(e["loc"])) for e in errors if e["type"] == "extra_forbidden"}
        for error in errors:
            loc = tuple(error["loc"])
            # `enviroment:` is the one problem, not also a missing `environment`.
            misspelt = error["type"] == "missing" and loc in meant
            if not misspelt and (not removed or not _follows_from(loc, removed, data)):
                problems.append((loc, validation_reason(error), _structural(error)))
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


# The errors of the file's shape rather than of a value: a field the model does not have, a
# required one missing, a value of the wrong type (a word for a number, one value for a list, a
# list for a mapping) or none at all. A value of the right type that is refused (a pattern, a
# range, a validator) is the value's own problem, told beside the cross-field rules.
_SHAPE_ERRORS = {"extra_forbidden", "missing", "int_from_float", "model_attributes_type"}


def _structural(error: Any) -> bool:
    kind = str(error["type"])
    return (
        kind in _SHAPE_ERRORS
        or kind.endswith(("_type", "_parsing"))
        or error["input"] is None
    )


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
