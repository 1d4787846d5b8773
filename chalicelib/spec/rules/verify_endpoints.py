"""Where Berth's verification hook may send its calls: only to a test listener the operator
declared for the spec's environment (its `testListeners` in the environments file), never to an
address inside the hook's own network.

The hook sends the smoke call's header, a secret, to `verify.testUrl` and keeps the start of the
answer: a spec naming any host could have the secret sent there, or read back what an internal
address answers. Refused whatever the declaration says:
- loopback: the Lambda runtime API listens on the sandbox's loopback address
  (AWS_LAMBDA_RUNTIME_API, 127.0.0.1:9001: Lambda developer guide, "Using the Lambda runtime API
  for custom runtimes");
- link-local: 169.254.169.254 (instance metadata), 169.254.170.2 (ECS task metadata and
  credentials: ECS developer guide, "Amazon ECS task metadata endpoint"), fd00:ec2::254;
- private, shared, multicast, reserved and unspecified IP literals: a test listener is a load
  balancer's listener, named by its DNS name (ELBv2 DescribeLoadBalancers' DNSName), not by an
  address a spec author picked. An internal load balancer's name resolves to private addresses,
  which the hook may call (it checks the address it resolved before connecting: adapters/http.py).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalicelib.spec.fence import declared_in, origin
from chalicelib.spec.located import Path

if TYPE_CHECKING:
    from chalicelib.spec.fence import StageFence
    from chalicelib.spec.model import Spec

Problems = list[tuple[Path, str]]

LOCAL_NAMES = ("localhost", "localhost.localdomain")


def address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of address `address` is when the hook must never call it, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_kind(address.ipv4_mapped)
    kinds = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("shared", isinstance(address, ipaddress.IPv4Address) and address in _SHARED),
    )
    return next((kind for kind, found in kinds if found), None)


_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT


def _numeric_address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `name` spells, in the forms resolvers accept too: inet_aton(3) reads
    `127.1`, `0x7f.0.0.1` and `2852039166` (169.254.169.254) as IPv4 addresses."""
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None


def host_problem(host: str) -> str | None:
    """Why a spec's testUrl may not name `host`, or None."""
    name = host.lower().rstrip(".")
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return f"{host} is this machine: the hook would call its own runtime"
    address = _numeric_address(name)
    if address is None:
        return None
    kind = address_kind(address)
    if kind is None:
        return None
    return (
        f"{host} is a {kind} address: the hook would call inside its own network (the Lambda "
        "runtime API, instance or task metadata); name the test listener by its load "
        "balancer's DNS name"
    )


def verify_endpoint_problems(spec: Spec, fence: StageFence) -> Problems:
    """Each verify.testUrl against its environment's declared test listeners."""
    env = spec.environment
    declared = fence.test_listeners.get(env, frozenset())
    listed = ", ".join(sorted(declared)) or "none"
    problems: Problems = []
    for name, svc in spec.services.items():
        verify = svc.deployment.verify
        if verify is None:
            continue
        at: Path = ("services", name, "deployment", "verify", "testUrl")
        host = urlsplit(verify.test_url).hostname or ""
        problem = host_problem(host)
        if problem is None and origin(verify.test_url) not in declared:
            problem = (
                f"{verify.test_url} is not a test listener of environment {env} ({listed}; "
                f"{declared_in('testListeners', env, fence.stage)}): the hook sends the smoke "
                "header's secret "
                "only to a listener the operator declared"
            )
        if problem is not None:
            problems.append((at, problem))
    return problems
