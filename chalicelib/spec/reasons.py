"""What a pydantic error on a spec (or the stage's environments file) says to a person: the
field's reason in words and what to write instead, a "did you mean" from the fields the model
accepts there, and the misspelt field an unknown one stands for. `parse` locates and orders
them."""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel

from .base import NAME, REPOSITORY
from .located import Path
from .model import Spec
from .networking import TARGET_GROUP
from .rules.names import close_match, did_you_mean


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


def misspelt_field(loc: Path) -> Path | None:
    """The field an unknown field at `loc` is a misspelling of, if one is close."""
    suggestion = close_match(str(loc[-1]), _fields_at(Spec, loc[:-1]))
    return (*loc[:-1], suggestion) if suggestion else None


def validation_reason(error: Any, model: type[BaseModel] = Spec) -> str:
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
