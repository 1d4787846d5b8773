"""What a spec may not make a trusted WSO2 image run: a spec upload is code, and the image runs
with the service's secrets and task role.

- Variables that the loader, the C library, the JVM, bash or the entrypoints interpret as code
  or as where code lives are refused by name, under `environment` and `secrets` alike
  (interpreted.py); the JVM variables WSO2's start scripts pass to the JVM take only the flags
  on an allow-list (jvm_flags.py).
- A health check runs inside the container: only Berth's product probes (the presets), or an
  exec-form `curl` of a localhost URL with harmless options; no shell (CMD-SHELL).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalicelib.spec.located import Path
from chalicelib.spec.rules.interpreted import JVM_VARIABLES, interpreted_problem
from chalicelib.spec.rules.jvm_flags import flag_problem

if TYPE_CHECKING:
    from chalicelib.spec.containers import HealthCheck
    from chalicelib.spec.model import Spec

CURL_FLAGS = frozenset(
    {"--fail", "-f", "--silent", "-s", "--show-error", "-S", "--insecure", "-k", "-fs", "-fsS",
     "-sf", "-sfk", "-fsk", "--location", "-L"}
)  # fmt: skip
CURL_FLAGS_WITH_VALUE = frozenset({"--max-time", "-m", "--connect-timeout"})
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _health_check_problem(command: list[str]) -> str | None:
    if not command or command[0] != "CMD":
        return (
            "only an exec-form probe is allowed: [CMD, curl, <options>, http://localhost:<port>/"
            "<path>] (no CMD-SHELL: a shell in the image runs whatever the spec says)"
        )
    if len(command) < 3 or command[1] != "curl":
        return "the probe must be curl of a localhost URL: [CMD, curl, --fail, http://localhost:…]"
    urls = 0
    arguments = iter(command[2:])
    for argument in arguments:
        if argument in CURL_FLAGS:
            continue
        if argument in CURL_FLAGS_WITH_VALUE:
            value = next(arguments, "")
            if not value.isdigit():
                return f"{argument} takes a number of seconds, not {value!r}"
            continue
        parts = urlsplit(argument)
        if parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS:
            urls += 1
            continue
        return (
            f"{argument!r} is not allowed in a probe: only {', '.join(sorted(CURL_FLAGS))}, "
            f"{', '.join(sorted(CURL_FLAGS_WITH_VALUE))} <seconds> and http(s)://localhost URLs"
        )
    return None if urls else "the probe names no http(s)://localhost URL"


def _variables_problems(
    at: Path, environment: dict[str, str], secrets: dict[str, str], whose: str = "product's"
) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    for section, names in (("environment", environment), ("secrets", secrets)):
        for name in sorted(names):
            problem = interpreted_problem(name, whose)
            if problem is None and name in JVM_VARIABLES:
                problem = (
                    flag_problem(name, environment[name])
                    if section == "environment"
                    else f"{name} carries JVM flags, which Berth checks flag by flag: give it "
                    "under environment, not as a secret whose value Berth cannot see"
                )
            if problem is not None:
                problems.append(((*at, section, name), problem))
    return problems


def _probe_problems(at: Path, check: HealthCheck | None) -> list[tuple[Path, str]]:
    problem = _health_check_problem(list(check.command)) if check is not None else None
    return [((*at, "healthCheck", "command"), problem)] if problem else []


def safety_problems(spec: Spec) -> list[tuple[Path, str]]:
    """What in `spec` would run code of the spec author's choosing in a container of a task.
    Sidecars share the task role and the task's network with the product, so the same rules
    hold for them; only Berth's own sidecar presets bring other probes."""
    problems: list[tuple[Path, str]] = []
    for name, svc in spec.services.items():
        at: Path = ("services", name)
        problems += _variables_problems(at, svc.environment, svc.secrets)
        problems += _probe_problems(at, svc.health_check)
        for container, sidecar in svc.containers.items():
            here: Path = (*at, "containers", container)
            problems += _variables_problems(
                here, sidecar.environment, sidecar.secrets, f"{container}'s"
            )
            problems += _probe_problems(here, sidecar.health_check)
    return problems
