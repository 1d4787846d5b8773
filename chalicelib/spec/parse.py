"""Reading a spec file: load it with positions, validate its types (`chalicelib.spec.model`), then
run the rules (`chalicelib.spec.rules`) and, given a stage, its fence; every problem reported
together as file:line:col: field: reason. Errors of the file's shape (syntax, unknown fields,
types, empty values) are told alone; dependent rules are quiet while a field they read is wrong.

The one entry that composes the rules: nothing in the model or the rules imports this module.
"""

from __future__ import annotations

import copy as copy_module
import re
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from chalicelib.errors import SpecError, SpecProblem

from .base import NAME, REPOSITORY
from .fence import StageFence
from .ha import expand_ha, nodes_of
from .located import Located, Path, SourceError, path_text
from .model import Spec
from .networking import TARGET_GROUP
from .rules.containers import sidecar_fence_problems
from .rules.contract import contract_problems
from .rules.credentials import credential_problems
from .rules.ei import ei_problems
from .rules.fence import fence_problems
from .rules.ha import ha_problems
from .rules.hostnames import hostname_problems
from .rules.keystores import keystore_problems
from .rules.names import close_match, did_you_mean
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


def _model_at(model: Any, loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model whose fields are accepted at `loc` inside `model`, if a model is there."""
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
            return None
    if typing.get_origin(current) in (typing.Union, types.UnionType):
        current = next(a for a in typing.get_args(current) if a is not type(None))
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _fields_at(model: Any, loc: tuple[str | int, ...]) -> list[str]:
    """The field names (aliases) accepted at `loc` inside `model`, for "did you mean"."""
    found = _model_at(model, loc)
    return [f.alias or n for n, f in found.model_fields.items()] if found else []


def _required(loc: Path) -> bool:
    """Is the field at `loc` one the spec must give (no default)?"""
    parent = _model_at(Spec, loc[:-1])
    fields = {(f.alias or n): f for n, f in parent.model_fields.items()} if parent else {}
    field = fields.get(str(loc[-1])) if loc else None
    return field is not None and field.is_required()


def _meant(loc: Path) -> Path | None:
    """The field an unknown field at `loc` is a misspelling of, if one is close."""
    suggestion = close_match(str(loc[-1]), _fields_at(Spec, loc[:-1]))
    return (*loc[:-1], suggestion) if suggestion else None


def _reason(error: Any, model: type[BaseModel] = Spec) -> str:
    """What is wrong with one field, and what to write instead; unknown fields get a "did you
    mean" from the fields `model` accepts there (the stage's environments file words its errors
    the same)."""
    kind = str(error["type"])
    loc = tuple(error["loc"])
    value = error["input"]
    if kind == "extra_forbidden":
        hint = did_you_mean(str(loc[-1]), _fields_at(model, loc[:-1]))
        return f"unknown field{hint or ': remove it (docs/spec.md lists every field)'}"
    if kind == "missing":
        return f"required field is missing: add '{loc[-1]}:' with its value"
    if value is None:
        # `track:` with nothing after it is YAML's null, not an empty string.
        if _required(loc):
            return "is empty: give it a value (the field is required)"
        return "is empty: give it a value (or remove the line to take the default)"
    shaped = _shape_reason(kind, loc, value)
    if shaped is not None:
        return shaped
    valued = _value_reason(kind, loc, value, error.get("ctx") or {})
    if valued is not None:
        return valued
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind == "string_pattern_mismatch" and not isinstance(value, dict | list):
        message = f"{value!r}: {message}"
    return message


def _one_value(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _shape_reason(kind: str, loc: Path, value: Any) -> str | None:
    """A value of the wrong type: one value for a list or a mapping, a list for a mapping, a
    mapping for one value, a word for a number."""
    field = str(loc[-1]) if loc else ""
    if kind == "list_type" and _one_value(value):
        return (
            f"{value!r} is one value where a list belongs: write [{value}] or one '- item' "
            "per line"
        )
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _mapping_reason(loc, value)
    if kind == "string_type" and isinstance(value, dict | list):
        what = "a mapping" if isinstance(value, dict) else "a list"
        return (
            f"is {what} where one value belongs: write the value on the line of '{field}:', "
            "quoted if it holds ': ', '{' or '['"
        )
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _whole_number(field, value)
    if kind in ("bool_parsing", "bool_type"):
        return f"{value!r} is not true or false: write {field}: true or {field}: false"
    if kind in ("float_parsing", "float_type"):
        return f"{value!r} is not a number: write digits only, without quotes or units"
    return None


def _mapping_reason(loc: Path, value: Any) -> str:
    """A list or one value where a mapping belongs, with the mapping to write."""
    fields = _fields_at(Spec, loc)
    named = f" ({', '.join(fields[:4])}{', ...' if len(fields) > 4 else ''})" if fields else ""
    if not isinstance(value, list):
        return f"{value!r} is one value where a mapping belongs: write its fields{named} under it"
    said = "is a list where a mapping belongs: write"
    if fields:
        return f"{said} its fields{named} without '- '"
    pairs = [str(v).partition("=") for v in value if isinstance(v, str)]
    if pairs and len(pairs) == len(value) and all(sep for _, sep, _ in pairs):
        written = ", ".join(f"{k}: {v}" for k, _, v in pairs)  # `- NAME=value`, docker's way
        return f"{said} {{{written}}}, or one 'NAME: value' per line"
    return f"{said} one 'NAME: value' per line, without '- '"


# What a number field counts, and the fix for a value written in other units.
_UNITS: dict[str, tuple[str, int, dict[str, int]]] = {
    # field: (unit, example, multipliers of a written suffix)
    "cpu": ("CPU units, 1024 per vCPU", 1024, {"vcpu": 1024, "": 1024}),
    "memory": ("MiB", 4096, {"gb": 1024, "gib": 1024, "g": 1024, "mb": 1, "mib": 1, "m": 1}),
    "heap": ("MiB", 2048, {"gb": 1024, "gib": 1024, "g": 1024, "mb": 1, "mib": 1, "m": 1}),
}
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


def _whole_number(field: str, value: Any) -> str:
    said = f"{value!r} is not a whole number"
    if field not in _UNITS:
        return f"{said}: write digits only, without quotes or units (e.g. {field}: 2)"
    unit, example, multipliers = _UNITS[field]
    found = _AMOUNT.match(str(value).lower())
    if found is not None and found.group(2) in multipliers:
        amount = float(found.group(1)) * multipliers[found.group(2)]
        if amount.is_integer() and amount >= 1:
            return f"{said}: {field} is in {unit}; write {field}: {int(amount)}"
    return f"{said}: {field} is in {unit}; write digits only (e.g. {field}: {example})"


# What a pattern asks for, in words, for the patterns people meet first.
_PATTERNS: dict[str, str] = {
    NAME: "a name: lowercase letters, digits and '-', starting with a letter, at most 31 "
    "characters",
    r"^[A-Za-z0-9_-]{1,255}$": "an ECS cluster name: letters, digits, '-' and '_'",
    r"^arn:aws[a-z-]*:iam::\d{12}:role/.+": "an IAM role ARN: "
    "arn:aws:iam::<12-digit account>:role/<name>",
    REPOSITORY: "an ECR repository name: lowercase letters and digits, with '.', '_', '-' or "
    "'/' between them",
    r"^subnet-[0-9a-z]+$": "a subnet ID: subnet-<id> (e.g. subnet-0a1b2c3d4e5f60001)",
    r"^sg-[0-9a-z]+$": "a security group ID: sg-<id> (e.g. sg-0a1b2c3d4e5f60001)",
    r"^sha256:[0-9a-f]{64}$": "a digest: sha256: and 64 lowercase hexadecimal characters",
    TARGET_GROUP: "a target group ARN: "
    "arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID",
    # The environments file's test listeners (spec/environments.py Origin).
    r"^https?://[^/\s]+$": "an origin: https://HOST[:PORT], without a path",
}


def _value_reason(kind: str, loc: Path, value: Any, ctx: dict[str, Any]) -> str | None:
    """A value of the right type that is refused: not one of the choices, not the pattern, out
    of range."""
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'|(\d+)", str(ctx.get("expected", "")))
        words = [quoted or number for quoted, number in choices]
        if str(value) in words:
            return f"{value!r} is text here: write {value} without quotes"
        if len(words) == 1:
            return f"{value!r}: write {loc[-1]}: {words[0]}, the one value it takes"
        by_case = {w.lower(): w for w in words}
        close = close_match(str(value).lower(), by_case)  # `fargate` means FARGATE
        hint = f" (did you mean {by_case[close]!r}?)" if close else ""
        return f"{value!r}: write one of {ctx.get('expected')}{hint}"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERNS:
        wanted = _PATTERNS[str(ctx["pattern"])]
        suggestion = _as_name(str(value)) if ctx["pattern"] in (NAME, REPOSITORY) else None
        example = f" (e.g. {suggestion!r})" if suggestion and suggestion != value else ""
        return f"{value!r} is not {wanted}{example}"
    bounds = {
        "greater_than": ("too small", "greater than", "gt"),
        "greater_than_equal": ("too small", "greater than or equal to", "ge"),
        "less_than": ("too large", "less than", "lt"),
        "less_than_equal": ("too large", "less than or equal to", "le"),
    }
    if kind in bounds:
        what, limit, key = bounds[kind]
        return f"{value!r} is {what}: write a number {limit} {ctx.get(key)}"
    return _length_reason(kind, value, ctx)


def _length_reason(kind: str, value: Any, ctx: dict[str, Any]) -> str | None:
    """Text or a collection too short (`track: ""`, `services: {}`) or too long."""
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "is empty: give it a value (or remove the line to take the default)"
        return f"{value!r} is too short: write at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"is {len(str(value))} characters long: write at most {ctx.get('max_length')}"
    if kind == "too_short":
        return f"has {ctx.get('actual_length')} entries: give at least {ctx.get('min_length')}"
    if kind == "too_long":
        return f"has {ctx.get('actual_length')} entries: give at most {ctx.get('max_length')}"
    return None


def _as_name(value: str) -> str | None:
    """`Prod Env` as a name Berth takes (`prod-env`), if there is one."""
    name = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return name if re.match(NAME, name) else None


validation_reason = _reason


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
        meant = {_meant(tuple(e["loc"])) for e in errors if e["type"] == "extra_forbidden"}
        for error in errors:
            loc = tuple(error["loc"])
            # `enviroment:` is the one problem, not also a missing `environment`.
            misspelt = error["type"] == "missing" and loc in meant
            if not misspelt and (not removed or not _follows_from(loc, removed, data)):
                problems.append((loc, _reason(error), _structural(error)))
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
