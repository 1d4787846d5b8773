"""The spec file: one environment's desired WSO2 services on ECS, validated with precise messages.

Structure and field rules are pydantic models; rules that span fields (Fargate sizes, port
clashes, dependency cycles) run afterwards as plain functions returning located problems.
"""

from __future__ import annotations

import copy as copy_module
import difflib
import itertools
import re
import types
import typing
from graphlib import CycleError, TopologicalSorter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from .errors import SpecError, SpecProblem
from .presets import APIM_ENCRYPTION_KEY_SECRET, PRESETS, Product, ProductPreset
from .tracks import track_problem
from .yamlsource import Located, Path, SourceError, load_document

SPEC_VERSION = 1
NAME = r"^[a-z][a-z0-9-]{0,30}$"
SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:.+"
    r"|ssm:[a-z0-9-]+:\d{12}:parameter/.+)$"
)
SECRET_LOOKING_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# Fargate task sizes: cpu units -> the memory values (MiB) AWS accepts with them (AWS Fargate "Task
# CPU and memory" table). 0.25 vCPU takes only 512, 1024 or 2048: AWS refuses 1536 with "No Fargate
# configuration exists for given values: 256 CPU, 1536 memory."
def _steps(low: int, high: int, step: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1, step))


FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}


class _Model(BaseModel):
    # defer_build: the schema is built on first use, so the Lambdas that never validate a spec
    # (most ECS events) do not pay for it at cold start.
    model_config = ConfigDict(
        alias_generator=to_camel,
        # One spelling per field: `desired_count` is an unknown field, not an alias.
        populate_by_name=False,
        extra="forbid",
        frozen=True,
        defer_build=True,
    )


def _secret_arn(value: str) -> str:
    if not SECRET_ARN.match(value):
        raise ValueError(
            f"{value!r} is not a Secrets Manager or SSM parameter ARN "
            "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
            "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME); secrets are references, never values"
        )
    return value


SecretArn = Annotated[str, AfterValidator(_secret_arn)]


class ImageSource(_Model):
    """Which ECR repository feeds a service, and which of its tags it follows."""

    repository: str = Field(pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$", max_length=256)
    track: str = Field(default="*", min_length=1, max_length=128)

    @field_validator("repository", mode="before")
    @classmethod
    def _repository_not_tag(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        first, slash, _ = value.partition("/")
        # Docker's rule: a first component with a dot or a colon, or "localhost", is a registry.
        if slash and ("." in first or ":" in first or first == "localhost"):
            raise ValueError(
                f"{value!r} names a registry ({first}); give the ECR repository name only "
                "(e.g. wso2am): Berth pins images to this account's ECR registry by digest"
            )
        if ":" in value or "@" in value:
            raise ValueError(
                f"{value!r} names a tag or digest; give the repository name only and choose "
                "tags with track (e.g. {repository: wso2am, track: '4.7.*'})"
            )
        return value

    @field_validator("track")
    @classmethod
    def _track_is_usable(cls, value: str) -> str:
        problem = track_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class Network(_Model):
    subnets: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-z]+$")]] = Field(min_length=1)
    security_groups: list[Annotated[str, Field(pattern=r"^sg-[0-9a-z]+$")]] = Field(
        min_length=1, max_length=5
    )
    assign_public_ip: bool = False


class LoadBalancer(_Model):
    target_group_arn: str = Field(pattern=r"^arn:aws[a-z-]*:elasticloadbalancing:.+:targetgroup/.+")
    container_port: int | None = Field(default=None, ge=1, le=65535)


class CircuitBreaker(_Model):
    enable: bool = True
    rollback: bool = True


class Deployment(_Model):
    minimum_healthy_percent: int = Field(default=100, ge=0, le=100)
    maximum_percent: int = Field(default=200, ge=100, le=200)
    circuit_breaker: CircuitBreaker = CircuitBreaker()


class HealthCheck(_Model):
    """ECS container health check; limits are ECS's own."""

    command: list[str] = Field(min_length=2)
    interval: int = Field(default=30, ge=5, le=300)
    timeout: int = Field(default=5, ge=2, le=60)
    retries: int = Field(default=3, ge=1, le=10)
    start_period: int = Field(default=0, ge=0, le=300)


Port = Annotated[int, Field(ge=1, le=65535)]


class Service(_Model):
    product: Product = "generic"
    image: ImageSource
    cpu: int | None = Field(default=None, gt=0)
    memory: int | None = Field(default=None, gt=0)
    heap: int | None = Field(default=None, ge=128, description="JVM heap in MiB")
    desired_count: int = Field(default=1, ge=0, le=100)
    ports: list[Port] | None = None
    environment: dict[str, str] = {}
    secrets: dict[str, SecretArn] = {}
    network: Network | None = None
    load_balancer: LoadBalancer | None = None
    health_check: HealthCheck | None = None
    health_check_grace_period: int | None = Field(default=None, ge=0, le=2_147_483_647)
    depends_on: list[str] = []
    deployment: Deployment = Deployment()
    log_group: str | None = None
    execution_role_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+"
    )
    task_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+")
    launch_type: Literal["FARGATE", "EC2"] | None = None
    architecture: Literal["X86_64", "ARM64"] = "X86_64"
    stop_timeout: int | None = Field(default=None, ge=2, le=120)
    tags: dict[str, str] = {}

    @field_validator("image", mode="before")
    @classmethod
    def _image_shorthand(cls, value: Any) -> Any:
        # `image: wso2am` is short for `image: {repository: wso2am, track: "*"}`.
        return {"repository": value} if isinstance(value, str) else value

    @field_validator("environment", mode="before")
    @classmethod
    def _environment_values_are_text(cls, value: Any) -> Any:
        # YAML turns `DEBUG: true` into a bool and `PORT: 8080` into an int; ECS wants strings.
        if isinstance(value, dict):
            return {
                k: (str(v).lower() if isinstance(v, bool) else str(v))
                if isinstance(v, (bool, int, float))
                else v
                for k, v in value.items()
            }
        return value

    @property
    def preset(self) -> ProductPreset:
        return PRESETS[self.product]

    @property
    def effective_cpu(self) -> int:
        return self.cpu if self.cpu is not None else self.preset.cpu

    @property
    def effective_memory(self) -> int:
        return self.memory if self.memory is not None else self.preset.memory

    @property
    def effective_ports(self) -> list[int]:
        return list(self.ports) if self.ports is not None else list(self.preset.ports)


class Spec(_Model):
    berth: Literal[1]
    environment: str = Field(pattern=NAME)
    cluster: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    services: dict[Annotated[str, Field(pattern=NAME)], Service] = Field(
        min_length=1, max_length=50
    )
    # Defaults for every service; a service's own value wins.
    network: Network | None = None
    log_group: str | None = None
    execution_role_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+"
    )
    task_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+")
    launch_type: Literal["FARGATE", "EC2"] = "FARGATE"
    tags: dict[str, str] = {}

    def launch_type_of(self, name: str) -> str:
        return self.services[name].launch_type or self.launch_type

    def network_of(self, name: str) -> Network | None:
        return self.services[name].network or self.network

    def log_group_of(self, name: str) -> str:
        return self.services[name].log_group or self.log_group or f"/berth/{self.environment}"

    def execution_role_of(self, name: str) -> str | None:
        return self.services[name].execution_role_arn or self.execution_role_arn

    def task_role_of(self, name: str) -> str | None:
        return self.services[name].task_role_arn or self.task_role_arn

    def deployment_order(self) -> list[str]:
        """Service names, dependencies first; ties broken by name so the order is stable."""
        sorter = TopologicalSorter({n: set(s.depends_on) for n, s in self.services.items()})
        sorter.prepare()
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order


# ---- cross-field rules -------------------------------------------------------------------------


def _listed(values: tuple[int, ...]) -> str:
    step = values[1] - values[0] if len(values) > 3 else 0
    if step and all(b - a == step for a, b in itertools.pairwise(values)):
        return f"{values[0]}-{values[-1]} in steps of {step}"
    return ", ".join(map(str, values))


def fargate_size_problem(cpu: int, memory: int) -> str | None:
    """Why Fargate refuses this task size, or None when it runs it."""
    if cpu not in FARGATE_MEMORY:
        return f"{cpu} is not a valid Fargate cpu (valid: {', '.join(map(str, FARGATE_MEMORY))})"
    if memory not in FARGATE_MEMORY[cpu]:
        return (
            f"{memory} is not a valid Fargate memory for cpu {cpu} "
            f"(valid: {_listed(FARGATE_MEMORY[cpu])})"
        )
    return None


def _fargate_problems(name: str, svc: Service) -> list[tuple[Path, str]]:
    problem = fargate_size_problem(svc.effective_cpu, svc.effective_memory)
    if problem is None:
        return []
    where = "cpu" if svc.effective_cpu not in FARGATE_MEMORY or svc.memory is None else "memory"
    return [(("services", name, where), problem)]


def _port_problems(spec: Spec, name: str, svc: Service) -> list[tuple[Path, str]]:
    at: Path = ("services", name)
    ports = svc.effective_ports
    problems: list[tuple[Path, str]] = [
        ((*at, "ports"), f"port {port} is listed more than once")
        for port in sorted({p for p in ports if ports.count(p) > 1})
    ]
    if svc.load_balancer is not None:
        port = svc.load_balancer.container_port or svc.preset.lb_port
        where: Path = (*at, "loadBalancer", "containerPort")
        if port is None:
            problems.append((where, "required for generic containers"))
        elif port not in ports:
            listed = ", ".join(map(str, ports))
            problems.append((where, f"{port} is not one of the service's ports ({listed})"))
    return problems


def _environment_problems(spec: Spec, name: str, svc: Service) -> list[tuple[Path, str]]:
    at: Path = ("services", name)
    problems: list[tuple[Path, str]] = []
    for key in sorted(svc.environment):
        if not ENV_NAME.match(key):
            problems.append(((*at, "environment", key), "not a valid environment variable name"))
        elif SECRET_LOOKING_NAME.search(key):
            problems.append(
                (
                    (*at, "environment", key),
                    "looks like a secret; move it to secrets as a Secrets Manager or SSM ARN",
                )
            )
    for key in sorted(set(svc.environment) & set(svc.secrets)):
        problems.append(((*at, "secrets", key), "is also set in environment; keep one"))
    if svc.product == "wso2am" and APIM_ENCRYPTION_KEY_SECRET not in svc.secrets:
        problems.append(
            (
                (*at, "secrets"),
                f"{APIM_ENCRYPTION_KEY_SECRET} is required for wso2am: APIM 4.x needs the same "
                "256-bit encryption key on every node",
            )
        )
    if spec.execution_role_of(name) is None:
        if spec.launch_type_of(name) == "FARGATE":
            # "Fargate requires task definition to have execution role ARN to support log driver
            # awslogs." (RegisterTaskDefinition): Berth always logs with awslogs and pulls from ECR.
            problems.append(
                (
                    (*at, "executionRoleArn"),
                    "required on Fargate: ECS pulls the ECR image and writes the awslogs log "
                    "stream with the task execution role; set executionRoleArn here or at the "
                    "top level",
                )
            )
        elif svc.secrets:
            problems.append(((*at, "executionRoleArn"), "required when the service has secrets"))
    return problems


def _service_problems(spec: Spec, name: str, svc: Service) -> list[tuple[Path, str]]:
    at: Path = ("services", name)
    problems: list[tuple[Path, str]] = []
    if spec.launch_type_of(name) == "FARGATE":
        problems += _fargate_problems(name, svc)
    if spec.network_of(name) is None:
        # Berth renders awsvpc tasks on either launch type, and CreateService refuses them
        # without one: "Network Configuration must be provided when networkMode 'awsvpc' is
        # specified."
        problems.append(
            (
                (*at, "network"),
                f"{spec.launch_type_of(name)} services run in awsvpc mode and need network "
                "subnets and securityGroups (here or at the top level)",
            )
        )
    problems += _port_problems(spec, name, svc)
    if svc.heap is not None and svc.heap >= svc.effective_memory:
        problems.append(
            (
                (*at, "heap"),
                f"{svc.heap} MiB heap does not fit in {svc.effective_memory} MiB memory",
            )
        )
    problems += _environment_problems(spec, name, svc)
    for i, dep in enumerate(svc.depends_on):
        if dep not in spec.services:
            hint = _did_you_mean(dep, spec.services)
            problems.append(((*at, "dependsOn", i), f"unknown service {dep!r}{hint}"))
        elif dep == name:
            problems.append(((*at, "dependsOn", i), "a service cannot depend on itself"))
    return problems


def semantic_problems(spec: Spec) -> list[tuple[Path, str]]:
    """Rules that span fields; each problem is (path, reason)."""
    problems: list[tuple[Path, str]] = []
    for name, svc in spec.services.items():
        problems += _service_problems(spec, name, svc)
    if not problems:
        try:
            spec.deployment_order()
        except CycleError as exc:
            cycle = " -> ".join(exc.args[1][::-1])
            problems.append((("services",), f"dependsOn forms a cycle: {cycle}"))
    return problems


# ---- error shaping -----------------------------------------------------------------------------


def _did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
        return f"unknown field{_did_you_mean(key, _fields_at(Spec, parent))}"
    if kind == "missing":
        return "required field is missing"
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


def _path_text(loc: Path) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problem(file: str, doc: Located | None, loc: Path, reason: str) -> SpecProblem:
    position = doc.position(loc) if doc else None
    line, column = position if position else (None, None)
    return SpecProblem(file, _path_text(loc), reason, line, column)


def parse_spec(raw: bytes, file: str) -> Spec:
    """Validate a spec file's bytes; raise SpecError listing every problem found."""
    try:
        doc = load_document(raw)
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
    problems: list[SpecProblem] = []
    data = doc.data
    for _ in range(2):
        try:
            spec = Spec.model_validate(data)
        except ValidationError as exc:
            problems += [_problem(file, doc, tuple(e["loc"]), _reason(e)) for e in exc.errors()]
            # Unknown fields alone do not stop the other checks: drop them and look again.
            unknown = [tuple(e["loc"]) for e in exc.errors() if e["type"] == "extra_forbidden"]
            if len(unknown) < len(exc.errors()):
                break
            data = _without(data, unknown)
            continue
        problems += [_problem(file, doc, loc, reason) for loc, reason in semantic_problems(spec)]
        if not problems:
            return spec
        break
    unique = list(dict.fromkeys(problems))
    raise SpecError(sorted(unique, key=_by_position))


def _without(data: Any, paths: list[tuple[str | int, ...]]) -> Any:
    """A deep copy of `data` without the mapping keys at `paths`."""
    copy = copy_module.deepcopy(data)
    for path in paths:
        parent = copy
        for part in path[:-1]:
            parent = parent[part]
        parent.pop(path[-1], None)
    return copy


def _by_position(problem: SpecProblem) -> tuple[int, int]:
    return problem.line or 0, problem.column or 0


def load_spec_file(path: str) -> Spec:
    """Read and validate a spec from disk."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_READ)
    except OSError as exc:
        raise SpecError([SpecProblem(path, "", f"cannot read file: {exc.strerror}")]) from None
    return parse_spec(raw, path)


# Read one byte past the limit so the size error can say the file is too large.
MAX_FILE_READ = 256 * 1024 + 1
