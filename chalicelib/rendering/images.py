"""Images as Berth pins them: a repository, its digest and the tag kept as a label, at this
account's registry."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.spec.model import Spec

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


# A clearly fake digest for `berth render` without --image: it can never be pulled.
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


@dataclass(frozen=True)
class ImageRef:
    """An image pinned by digest; the tag travels along for people."""

    repository: str
    digest: str
    tag: str | None = None

    def uri(self, account: str, region: str) -> str:
        return f"{registry_host(account, region)}/{self.repository}@{self.digest}"


def registry_host(account: str, region: str) -> str:
    host = f"{account}.dkr.ecr.{region}.amazonaws.com"
    return host + ".cn" if region.startswith("cn-") else host


def family(spec: Spec, service: str) -> str:
    return f"{spec.environment}-{service}"
