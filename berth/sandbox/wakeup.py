"""What `berth sandbox up` waits on between turns, instead of polling: a message sent to any of
the sandbox's queues (EventBridge's rule targets, the notification topic's subscription), ECS
work started (a service created, updated or deleted, a task run or stopped, by Berth or from
another shell), a stop, or the simulated ECS's next due time."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

ECS_WORK = ("create_service", "update_service", "delete_service", "run_task", "stop_task")
"""The ECS backend's calls that give the simulated scheduler something to do."""


class Wake(Protocol):
    """threading.Event's side the loop uses (a test passes one on a fake clock)."""

    def clear(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def wake_on_work(wake: threading.Event, sqs_backend: Any, ecs_backend: Any) -> None:
    """Set `wake` whenever moto's backends are given work: every message sent (EventBridge's
    and SNS's deliveries call the SQS backend's send_message, batches too) and every ECS call
    in ECS_WORK. Patched on the backend instances, which a moto reset replaces."""

    def waking(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            finally:
                wake.set()

        return call

    sqs_backend.send_message = waking(sqs_backend.send_message)
    for name in ECS_WORK:
        setattr(ecs_backend, name, waking(getattr(ecs_backend, name)))


def serve(
    step: Callable[[], bool],
    next_due: Callable[[], float | None],
    wake: Wake,
    stopped: Callable[[], bool],
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Turn `step` until `stopped()`; after a turn that moved nothing, sleep until `wake` is
    set or `next_due()` comes (forever when nothing is due). The number of turns.

    `wake` is cleared before each turn and before `stopped()` is asked, never after: whatever
    arrives during a turn that found nothing (or a stop requested as the turn began) leaves it
    set, and the wait that follows returns at once.
    """
    turns = 0
    while True:
        wake.clear()
        if stopped():
            return turns
        turns += 1
        if step():
            continue
        due = next_due()
        wake.wait(None if due is None else max(0.0, due - clock()))
