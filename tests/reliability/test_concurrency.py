"""Two handlers, two different pushes for the same service, at the same moment."""

from __future__ import annotations

import json
import threading

from berth.sandbox.lambdas import LambdaContext, _app_module
from chalicelib import handlers
from tests.integration.helpers import deploy_example
from tests.reliability.conftest import FIGURES

ROUNDS = 8


def _invoke_together(handler, events: list[dict], label: str) -> list[object]:
    """Each event in its own thread, released at the same instant; Lambda's retries included."""
    barrier = threading.Barrier(len(events))
    results: list[object] = [None] * len(events)

    def invoke(i: int, event: dict) -> None:
        barrier.wait()
        for attempt in range(3):  # Lambda retries an invocation that raised
            try:
                results[i] = handler(
                    event, LambdaContext("on_image_pushed", f"{label}-{i}-{attempt}")
                )
                return
            except Exception as exc:  # recorded, as Lambda records it
                results[i] = exc

    threads = [threading.Thread(target=invoke, args=(i, e)) for i, e in enumerate(events)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_pushes_for_one_service_never_lose_an_update(sandbox):
    deploy_example(sandbox)
    handler = _app_module().on_image_pushed
    queue = sandbox.queue_of("on_image_pushed")
    outcomes: list[str] = []
    for round_ in range(ROUNDS):
        tags = [f"4.7.0-{10 * round_ + 10}", f"4.7.0-{10 * round_ + 11}"]
        for tag in tags:
            sandbox.push("wso2am", tag)
        events = []
        while (
            messages := sandbox.client("sqs")
            .receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            .get("Messages")
        ):
            events += [dict(json.loads(m["Body"]), account="123456789012") for m in messages]
            for m in messages:
                sandbox.client("sqs").delete_message(
                    QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"]
                )
        assert len(events) == 2
        results = _invoke_together(handler, events, f"c{round_}")
        assert not [r for r in results if isinstance(r, Exception)], results
        outcomes += [o["action"] for r in results for o in r["outcomes"]]  # type: ignore[index]
        sandbox.run_until_idle()

        store = handlers.berth().store
        head = store.get_head("dev", "apim")
        assert head.image.tag == tags[1]  # the newer one wins, whatever the interleaving
        assert head.active_record_id is None
        records = store.history("dev", "apim", limit=200)
        assert all(r.status in ("COMPLETED", "SUPERSEDED") for r in records)
        live = sandbox.client("ecs").describe_services(cluster="wso2-dev", services=["apim"])[
            "services"
        ][0]
        newest_completed = next(r for r in records if r.status == "COMPLETED")
        assert newest_completed.image.tag == tags[1]
        assert live["taskDefinition"] == newest_completed.task_definition_arn
    FIGURES["concurrency"].update(
        rounds=ROUNDS,
        handler_outcomes=dict(sorted({a: outcomes.count(a) for a in set(outcomes)}.items())),
        lost_updates=0,
    )
