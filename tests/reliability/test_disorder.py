"""Issue 29: the past never overrides the present, under disorder. Every event kind (push, spec
upload and delete, wide-run batch, ECS deployment event, hook invocation, sweep, operator
command) is delivered one to three times, shuffled (the sandbox's chaos), interleaved with
operator rollbacks and with redrives of earlier events minutes later (a fake clock), over fixed
seeds. After every step: what ECS runs is what Berth's heads say; no ECS mutation is made for a
record the head no longer names, nor for a spec version the environment no longer accepts (both
checked at the moment of the call); and no outcome is told twice."""

from __future__ import annotations

import contextlib
import os
import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from berth.sandbox.sandbox import BUCKET, Sandbox
from chalicelib import handlers
from chalicelib.errors import BerthError
from chalicelib.flows import rollback
from tests.integration.test_rollout import SCHEDULED
from tests.reliability.conftest import FIGURES
from tests.reliability.specs import chained_spec

SEEDS = range(int(os.environ.get("BERTH_DISORDER_SEEDS", "3")))
SERVICES = ("front", "back")
SPECS = (("4.4.0-2", "4.4.0-2"), ("4.4.*", "4.4.*"), ("4.4.*", "4.4.0-1"), ("4.4.0-3", "4.4.*"))
"""The spec versions uploaded (front's track, back's): pins, frees, and one that pins back to
what it first ran, so that a newer version often changes nothing while an older one's claim
still waits for front."""
KEY = "specs/dev/wso2.yaml"
REDRIVEN = frozenset({"on_image_pushed", "on_spec_uploaded", "on_deployment_state_change",
                      "on_deploy_batch", "sweep"})  # fmt: skip


class Disorder:
    """One seed's run: the sandbox, the fake clock, what was checked and found."""

    def __init__(self, box: Sandbox, rng: random.Random) -> None:
        self.box, self.rng = box, rng
        self.berth = handlers.berth()
        real, self.offset = self.berth.clock, timedelta(0)
        self.berth.clock = lambda: real() + self.offset
        self.stale: list[str] = []
        self.mutations = self.head_checks = self.redrives = self.operator = 0
        self.berth.clients.ecs.meta.events.register("before-parameter-build.ecs.UpdateService", self._call)
        self.berth.clients.ecs.meta.events.register("before-parameter-build.ecs.CreateService", self._call)

    def _call(self, params: dict[str, Any], **_: Any) -> None:
        """At the moment of Berth's ECS mutation: it must be the head's record's, under its
        lease, and a spec's record's only while its version is the accepted one."""
        self.mutations += 1
        service = params.get("service") or params.get("serviceName")
        store = self.berth.store
        head = store.get_head("dev", str(service))
        holder = head.starting_record_id
        if holder is None or holder != head.active_record_id:
            self.stale.append(f"{service}: lease {holder}, head {head.active_record_id}")
            return
        record = store.get_record("dev", str(service), holder)
        accepted = store.accepted_spec("dev")
        spec = record.trigger.spec if record is not None else None
        if record is not None and record.trigger.kind == "spec" and spec and accepted and (
            spec.version_id != accepted.source.version_id
        ):
            self.stale.append(f"{service}: {holder} of {spec.version_id}")

    def jump(self, minutes: int) -> None:
        self.offset += timedelta(minutes=minutes)

    # ---- what people and AWS do ------------------------------------------------------------

    def actions(self) -> list[Callable[[], None]]:
        box = self.box
        tags = ["4.4.0-2", "4.4.0-3", "4.4.0-4"]
        acts: list[Callable[[], None]] = [
            *(lambda t=t: box.push("wso2mi", t) for t in tags),
            *(lambda f=f, b=b: box.upload_spec(chained_spec(box, f, b)) for f, b in SPECS),
            self.delete_newest_spec,
            *(lambda s=s: self.roll_back(s) for s in SERVICES),
            lambda: box.deliver("sweep", SCHEDULED),
            self.replay_hook,
            self.replay_batch,
            self.redrive,
            self.redrive,
        ]
        self.rng.shuffle(acts)
        # Each seed opens with the stale-work case (issue 29), then everything else interleaves
        return [self.newer_spec_while_older_waits, *acts]

    def newer_spec_while_older_waits(self) -> None:
        """V1 moves both services to 4.5.0-1 (back waits for front's rollout); before front is
        done, V2 keeps front's move and pins back to what it runs: V2 changes nothing, and V1's
        claim of back must never start."""
        back = self.berth.store.get_head("dev", "back").image
        assert back is not None and back.tag is not None
        self.box.upload_spec(chained_spec(self.box, "4.5.0-1", "4.5.0-1"))
        self.box.pump()
        self.box.upload_spec(chained_spec(self.box, "4.5.0-1", back.tag))
        self.box.pump()

    def delete_newest_spec(self) -> None:
        s3 = self.box.client("s3")
        versions = s3.list_object_versions(Bucket=BUCKET, Prefix=KEY).get("Versions", [])
        if len(versions) > 1:
            newest = next(v for v in versions if v["IsLatest"])
            s3.delete_object(Bucket=BUCKET, Key=KEY, VersionId=newest["VersionId"])

    def roll_back(self, service: str) -> None:
        self.operator += 1
        # nothing to roll back to yet, or refused: said to the operator, nothing deployed
        with contextlib.suppress(BerthError):
            rollback.rollback(self.berth, "dev", service, to=None, requested_by="arn:operator")

    def replay_hook(self) -> None:
        """ECS's lifecycle hook invoked for a rolling service Berth is not verifying."""
        self.box.deliver("verify_rollout", {
            "executionDetails": {
                "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/wso2-dev/front",
                "testTrafficWeights": {},
            },
            "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
            "hookDetails": {"berth": {}},
        })  # fmt: skip

    def replay_batch(self) -> None:
        """A batch event naming a run Berth never opened (a replay from another day)."""
        self.box.put_event("berth", "Berth Deployment Batch", {
            "run_id": "0123456789ab", "batch": 0,
            "spec": {"bucket": BUCKET, "key": KEY, "version_id": "v0"},
        }, [])  # fmt: skip

    def redrive(self) -> None:
        """A dead-letter queue redriven minutes later: an earlier event, again."""
        earlier = [d for d in self.box.deliveries if d.function in REDRIVEN]
        if earlier:
            self.jump(self.rng.randint(2, 20))
            self.redrives += 1
            delivery = self.rng.choice(earlier)
            self.box.deliver(delivery.function, delivery.event)

    # ---- what must hold -----------------------------------------------------------------------

    def head_is_live(self) -> None:
        ecs = self.box.client("ecs")
        for name in SERVICES:
            head = self.berth.store.get_head("dev", name)
            [live] = ecs.describe_services(cluster="wso2-dev", services=[name])["services"]
            self.head_checks += 1
            assert head.task_definition_arn == live["taskDefinition"], (name, head, live)

    def told_twice(self) -> list[tuple[str, str]]:
        told = Counter(
            (n.document["record_id"], n.document["status"])
            for n in self.box.notifications
            if n.document.get("record_id")
        )
        return [key for key, count in told.items() if count > 1]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_past_never_overrides_the_present(seed: int) -> None:
    with Sandbox(rollout_seconds=0.0, chaos=random.Random(seed)) as box:
        # Given front and back (after front) deployed on 4.4.0-1
        box.push("wso2mi", "4.4.0-1")
        box.push("wso2mi", "4.5.0-1")  # no 4.4 track follows it: only a pin deploys it
        box.upload_spec(chained_spec(box, "4.4.*", "4.4.*"))
        box.run_until_idle(timeout=60)
        run = Disorder(box, random.Random(seed))

        # When everything happens, in the seed's order, and after each either the events on the
        # bus are delivered (ECS's rollouts held still: what waits for them keeps waiting) or
        # the sandbox takes a whole step
        for act in run.actions():
            act()
            if run.rng.random() < 0.5:
                box.pump()
                box.collect_notifications()
            else:
                box.step()
            run.head_is_live()
            assert run.stale == []
        box.run_until_idle(timeout=60)
        run.head_is_live()

        duplicates = run.told_twice()
        figures = FIGURES["disorder (issue 29)"]
        for name, value in (
            ("seeds", 1), ("deliveries", len(box.deliveries)), ("redrives", run.redrives),
            ("operator actions", run.operator), ("ECS mutations", run.mutations),
            ("stale mutations", len(run.stale)), ("duplicate notifications", len(duplicates)),
            ("head = live checks", run.head_checks),
        ):  # fmt: skip
            figures[name] = figures.get(name, 0) + value
        assert run.stale == [] and duplicates == []
        figures["head = live always"] = figures.get("head = live always", True)
        store = handlers.berth().store
        for name in SERVICES:
            assert store.get_head("dev", name).active_record_id is None
            assert all(r.status not in ("PENDING", "IN_PROGRESS") for r in store.history("dev", name))
