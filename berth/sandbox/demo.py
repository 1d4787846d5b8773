"""`berth sandbox demo`: Berth's main job end to end on the sandbox, checked as it goes.

Every step acts the way a user would (push an image, upload a spec) and waits for the
notifications a subscriber would receive; each expected outcome is checked, and the demo fails
(exit 1) if any is missing. The sandbox runs a stage's defaults: each deployment tells its
outcome, not its start (BERTH_NOTIFY_STARTED, chalicelib.settings.notify_started); the
handlers' lines show when each deployment started.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click
import yaml

from berth.sandbox.lambdas import Delivery
from berth.sandbox.listener import Route, TestListener
from berth.sandbox.routing import ReceivedNotification
from berth.sandbox.sandbox import Sandbox, example_spec
from chalicelib import handlers

EXAMPLE = "wso2-dev.yaml"
BLUE_GREEN = "wso2-dev-bluegreen.yaml"
HEALTH = "/api/am/gateway/v2/server-startup-healthcheck"
SMOKE = "/pizzashack/1.0.0/menu"


@dataclass
class Timeline:
    """Prints what happens, with the seconds since the demo began."""

    show_json: bool = False
    started: float = field(default_factory=time.monotonic)
    echo: Callable[[str], None] = click.echo

    def line(self, kind: str, text: str) -> None:
        self.echo(f"[{time.monotonic() - self.started:5.1f}s] {kind:<8} {text}")

    def delivery(self, delivery: Delivery) -> None:
        if delivery.error:
            self.line("lambda", f"{delivery.function}: ERROR {delivery.error}")
            return
        if delivery.function == "verify_rollout":  # ECS's lifecycle hook: its answer
            answer = delivery.result or {}
            delay = answer.get("callBackDelay")
            delay = f", call back in {delay} s" if delay is not None else ""
            self.line("lambda", f"verify_rollout -> {answer.get('hookStatus')}{delay}")
            return
        for outcome in (delivery.result or {}).get("outcomes", []):
            who = "/".join(p for p in (outcome.get("environment"), outcome.get("service")) if p)
            text = " ".join(p for p in (outcome["action"], who) if p)
            if outcome.get("reason"):
                text += f": {outcome['reason']}"
            if outcome.get("duplicate"):
                text = f"duplicate delivery, nothing done (first delivery: {text})"
            self.line("lambda", f"{delivery.function} -> {text}")

    def notification(self, note: ReceivedNotification) -> None:
        self.line("notify", note.subject)
        if note.document["status"] in ("ROLLED_BACK", "FAILED", "REJECTED", "SKIPPED", "TIMED_OUT"):
            for line in note.text.splitlines()[1:]:
                if line.startswith(("Reason", "Cause", "Error", "Berth")):
                    self.echo(f"{'':17}{line}")
        if self.show_json:
            self.echo(f"{'':17}{json.dumps(note.document, sort_keys=True)}")


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


class Scenario:
    def __init__(self, sandbox: Sandbox, timeline: Timeline) -> None:
        self.sandbox = sandbox
        self.timeline = timeline
        self.checks: list[Check] = []

    def check(self, name: str, passed: bool, detail: str = "") -> None:
        self.checks.append(Check(name, passed, detail))
        mark = "ok  " if passed else "FAIL"
        self.timeline.echo(
            f"{'':9}{mark} {name}" + (f" ({detail})" if detail and not passed else "")
        )

    def settle(self) -> list[ReceivedNotification]:
        seen = len(self.sandbox.notifications)
        self.sandbox.run_until_idle()
        return self.sandbox.notifications[seen:]

    def heading(self, text: str) -> None:
        self.timeline.echo("")
        self.timeline.echo(text)

    def run(self) -> bool:
        sb = self.sandbox
        self.heading("0. CodeBuild pushes the first images (no spec yet, so nothing tracks them)")
        sb.push("wso2mi", "4.4.0-1")
        sb.push("wso2am", "4.7.0-1")
        self.settle()

        self.heading(f"1. Upload examples/{EXAMPLE} to s3://{sb_bucket()}/specs/dev/wso2.yaml")
        notes = self.settle_after(lambda: sb.upload_spec(sb.adapt_spec(example_spec(EXAMPLE))))
        order = [(n.document["service"], n.document["status"]) for n in notes]
        # MI (service mi) after APIM: it registers with APIM's service catalog at start.
        expected = [("apim", "COMPLETED"), ("mi", "COMPLETED")]
        self.check(
            "APIM deploys and completes, then MI deploys and completes",
            order == expected,
            f"{order}",
        )
        self.check_pinned_by_digest()

        self.heading("2. Push wso2am:4.7.0-2: a rolling update of APIM")
        notes = self.settle_after(lambda: sb.push("wso2am", "4.7.0-2"))
        self.check(
            "APIM 4.7.0-2 deployed",
            [n.subject for n in notes] == ["[dev] apim 4.7.0-2 deployed"],
            str([n.subject for n in notes]),
        )

        self.heading("3. Push wso2am:4.7.0-3 with a health check that never passes")
        notes = self.settle_after(lambda: sb.push("wso2am", "4.7.0-3", broken_health_check=True))
        final = notes[-1] if notes else None
        self.check(
            "the deployment fails, ECS rolls back to 4.7.0-2, and the cause is reported",
            final is not None
            and final.subject == "[dev] apim 4.7.0-3 FAILED, rolled back to 4.7.0-2"
            and any("health check" in c for c in final.document["causes"]),
            final.subject if final else "no notification",
        )

        self.heading("4. Push wso2am:4.7.0-4; EventBridge delivers the push event twice")
        mark = sb.recorder.mark()
        before = len(sb.deliveries)
        notes = self.settle_after(lambda: self.push_delivered_twice("wso2am", "4.7.0-4"))
        pushes = [d for d in sb.deliveries[before:] if d.function == "on_image_pushed"]
        registered = [c for c in sb.recorder.ecs_mutations(mark) if c.operation == "UpdateService"]
        self.check(
            "two deliveries, one deployment, one notification per outcome",
            len(pushes) == 2
            and len(registered) == 1
            and [n.document["status"] for n in notes] == ["COMPLETED"],
            f"{len(pushes)} deliveries, {len(registered)} UpdateService, "
            f"{[n.subject for n in notes]}",
        )

        self.heading("5. Push an older build, wso2am:4.7.0-2-a1b2c3d")
        before = len(sb.deliveries)
        notes = self.settle_after(lambda: sb.push("wso2am", "4.7.0-2-a1b2c3d"))
        reasons = [
            o.get("reason", "")
            for d in sb.deliveries[before:]
            for o in (d.result or {}).get("outcomes", [])
        ]
        self.check(
            "ignored: never older than what runs",
            not notes and any("older than the running 4.7.0-4" in r for r in reasons),
            str(reasons),
        )

        self.heading("6. Upload an invalid spec (a misspelt field, memory written as 4GB)")
        mark = sb.recorder.mark()
        notes = self.settle_after(lambda: sb.upload_spec(broken_spec(sb)))
        rejected = [n for n in notes if n.document["status"] == "REJECTED"]
        self.check(
            "rejected with every error located, nothing deployed",
            len(rejected) == 1
            and len(rejected[0].document["errors"]) >= 2
            and not sb.recorder.ecs_mutations(mark),
            f"{[n.subject for n in notes]}, ECS mutations: {sb.recorder.ecs_mutations(mark)}",
        )
        with TestListener({HEALTH: Route(200, "{}"), SMOKE: Route(200, "[]")}) as listener:
            self.blue_green(listener)
        return all(c.passed for c in self.checks)

    def blue_green(self, listener: TestListener) -> None:
        """APIM moves to ECS blue/green with Berth's verification hook; the test listener is a
        local server (nothing leaves 127.0.0.1)."""
        sb = self.sandbox
        self.heading(f"7. Upload examples/{BLUE_GREEN}: APIM on ECS blue/green, verified by Berth "
                     f"through the test listener ({listener.url})")  # fmt: skip
        notes = self.settle_after(lambda: sb.upload_spec(blue_green_spec(sb, listener.url)))
        self.check(
            "APIM switches to blue/green; its verification passes and the deployment completes",
            [(n.document["service"], n.document["status"]) for n in notes]
            == [("apim", "COMPLETED")]
            and (SMOKE in [path for _, path, _ in listener.received]),
            str([n.subject for n in notes]),
        )

        self.heading("8. Push wso2am:4.7.0-5: blue/green, the gateway and the smoke API answer")
        notes = self.settle_after(lambda: sb.push("wso2am", "4.7.0-5"))
        record = handlers.berth().store.history("dev", "apim")[0]
        self.check(
            "verified before production traffic moved, then deployed",
            [n.subject for n in notes] == ["[dev] apim 4.7.0-5 deployed"]
            and any("verification passed" in line for line in record.stages),
            f"{[n.subject for n in notes]}, {record.stages}",
        )

        self.heading("9. Push wso2am:4.7.0-6, whose smoke API answers 500 through the test "
                     "listener")
        listener.routes[SMOKE] = Route(500, '{"fault": {"code": 900900, "message": "broken"}}')
        notes = self.settle_after(lambda: sb.push("wso2am", "4.7.0-6"))
        final = notes[-1] if notes else None
        reason = str(final.document.get("reason", "")) if final else ""
        self.check(
            "rolled back before production traffic; the notification says why",
            final is not None
            and final.subject == "[dev] apim 4.7.0-6 FAILED, rolled back to 4.7.0-5"
            and reason.startswith("Berth's verification failed at POST_TEST_TRAFFIC_SHIFT, "
                                  "before production traffic moved: smoke GET " + SMOKE)
            and "500 (expected 200)" in reason,
            final.subject if final else "no notification",
        )  # fmt: skip

    def settle_after(self, action: Callable[[], Any]) -> list[ReceivedNotification]:
        seen = len(self.sandbox.notifications)
        action()
        self.sandbox.run_until_idle()
        return self.sandbox.notifications[seen:]

    def push_delivered_twice(self, repository: str, tag: str) -> None:
        self.sandbox.push(repository, tag)
        queued = self.sandbox.client("sqs").receive_message(
            QueueUrl=self.sandbox.queue_of("on_image_pushed"), MaxNumberOfMessages=1
        )["Messages"][0]
        event = json.loads(queued["Body"])
        self.sandbox.client("sqs").change_message_visibility(
            QueueUrl=self.sandbox.queue_of("on_image_pushed"),
            ReceiptHandle=queued["ReceiptHandle"],
            VisibilityTimeout=0,
        )
        # At-least-once delivery: the very same event (same id) arrives a second time.
        self.sandbox.put_raw_event_copy("on_image_pushed", event)

    def check_pinned_by_digest(self) -> None:
        ecs = self.sandbox.client("ecs")
        service = ecs.describe_services(cluster="wso2-dev", services=["apim"])["services"][0]
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
        image = definition["taskDefinition"]["containerDefinitions"][0]["image"]
        self.check("task definitions pin images by digest", "@sha256:" in image, image)


def sb_bucket() -> str:
    from berth.sandbox.names import BUCKET

    return BUCKET


def broken_spec(sandbox: Sandbox) -> str:
    text = sandbox.adapt_spec(example_spec(EXAMPLE))
    # Two mistakes of the file's shape, each told with its fix (and the rules wait for them).
    text = text.replace("desiredCount: 2", "desiredCont: 2", 1)
    return text.replace("memory: 4096", "memory: 4GB", 1)


def blue_green_spec(sandbox: Sandbox, test_url: str) -> str:
    """The blue/green example with the sandbox's network and its test listener's address."""
    document = yaml.safe_load(sandbox.adapt_spec(example_spec(BLUE_GREEN)))
    document["services"]["apim"]["deployment"]["verify"]["testUrl"] = test_url
    return yaml.safe_dump(document, sort_keys=False)


def run_demo(
    rollout_seconds: float, show_json: bool, echo: Callable[[str], None] = click.echo
) -> bool:
    timeline = Timeline(show_json=show_json, echo=echo)
    with Sandbox(rollout_seconds=rollout_seconds) as sandbox:
        sandbox.on_delivery = timeline.delivery
        sandbox.on_notification = timeline.notification
        echo(f"Berth sandbox: moto server at {sandbox.endpoint} (no AWS account is used).")
        echo("ECS rollouts are SIMULATED: moto records service updates but never runs tasks.")
        scenario = Scenario(sandbox, timeline)
        passed = scenario.run()
    ok = sum(c.passed for c in scenario.checks)
    echo("")
    elapsed = time.monotonic() - timeline.started
    echo(f"{ok}/{len(scenario.checks)} expected outcomes observed in {elapsed:.1f} s.")
    return passed
