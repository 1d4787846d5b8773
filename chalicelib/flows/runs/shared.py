"""Small pieces the run modules share: the service names a stage lets an environment adopt, a
record's image as rendering takes it, and a service's head with the records waiting for it."""

from __future__ import annotations

from chalicelib.context import Berth
from chalicelib.rendering.images import ImageRef
from chalicelib.values.records import DeploymentRecord, Head, Image, Waiter


def adoptable(berth: Berth, environment: str) -> frozenset[str]:
    """The untagged services (`cluster/service`) the stage lets `environment` take over
    (the environments file's `adopt`)."""
    fence = berth.settings.fence
    return fence.adoptable.get(environment, frozenset()) if fence else frozenset()


def image_ref(image: Image) -> ImageRef:
    return ImageRef(image.repository, image.digest, image.tag)


Dependents = list[tuple[DeploymentRecord, Waiter]]
"""The PENDING records waiting for a service, each with its waiter entry on that service."""


Known = tuple[Head, list[Waiter]]
"""A service's head and the waiter entries in its partition, as one Query just read them."""


def head_and_dependents(
    berth: Berth, record: DeploymentRecord, known: Known | None = None
) -> tuple[Head, Dependents]:
    """`record`'s service head and the PENDING records waiting for that service, found through
    the waiter entries their claims wrote in its partition (one consistent Query unless `known`,
    nothing more when no one waits; entries of records that stopped waiting are cleared)."""
    head, waiters = known or berth.store.head_and_waiters(record.environment, record.service)
    dependents: Dependents = []
    for waiter in waiters:
        dependent = berth.store.get_record(waiter.environment, waiter.service, waiter.record_id)
        if dependent is None or dependent.status != "PENDING" or (
            record.service not in dependent.waiting_for
        ):
            berth.store.forget_waiter(record.service, waiter)
            continue
        dependents.append((dependent, waiter))
    return head, dependents
