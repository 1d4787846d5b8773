"""The embedded default: Berth's real handlers on a moto server on 127.0.0.1.

Events travel as they do on AWS: S3 emits "Object Created" to EventBridge (moto does this), ECR
and the simulated ECS scheduler put their events on the bus (moto emits neither), EventBridge
rules built from the same patterns as app.py route them to one queue per Lambda, and the pump
invokes each Chalice handler with the raw event and a Lambda context. Notifications reach an SQS
queue subscribed to the SNS topic, as a subscriber's would.

Sandbox runs the server's lifecycle and the event loop; the stage's resources are `resources`'s,
the rules, queues and bus `routing`'s, the Lambdas' side `lambdas`'s, images `images`'s.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from berth.sandbox import images, resources, routing, strict_s3, wakeup
from berth.sandbox.api_gateway import PRINCIPALS, ApiGateway
from berth.sandbox.calls import CallRecorder
from berth.sandbox.consistency import IndexLag
from berth.sandbox.ecs_sim import SimulatedEcs
from berth.sandbox.ecs_sim.events import EmittedEvent
from berth.sandbox.iam import PolicyEnforcer
from berth.sandbox.lambdas import LAMBDA_ATTEMPTS, Delivery, LambdaContext, _app_module
from berth.sandbox.names import ACCOUNT, BUCKET, REGION, REPO_ROOT, STAGE, TABLE_NAMES, TOPIC_ARN
from berth.sandbox.routing import ReceivedNotification
from berth.sandbox.server import SANDBOX_ENV, MotoServer, environment, guard_loopback
from berth.stages import FENCE_VARIABLES, stage_variables
from chalicelib import handlers
from chalicelib.adapters.clients import berth_session
from chalicelib.context import Berth
from chalicelib.settings import Settings
from chalicelib.values import triggers


@dataclass
class Sandbox:
    """Berth's handlers on a moto server: start it, act as a user would, turn the event loop."""

    rollout_seconds: float = 0.3
    shortest_wait: float = 0.0
    """The simulated ECS's shortest real wait for a hook's call-back or a bake time."""
    endpoint: str = ""
    server: MotoServer | None = None
    ecs_sim: SimulatedEcs | None = None
    chaos: random.Random | None = None
    lambda_timeout_ms: int = 60_000
    recorder: CallRecorder = field(default_factory=CallRecorder)
    iam: PolicyEnforcer = field(default_factory=lambda: PolicyEnforcer(STAGE, REGION, ACCOUNT))
    """The stage's IAM policy, enforced on every call of Berth's Lambdas (not on the user's)."""
    index_lag: IndexLag = field(default_factory=IndexLag)
    """How stale DynamoDB's index queries are (0 by default; AWS's are eventually consistent)."""
    deliveries: list[Delivery] = field(default_factory=list)
    notifications: list[ReceivedNotification] = field(default_factory=list)
    api: ApiGateway | None = None
    """The stack's REST API with API Gateway's IAM authorization (`berth approve` calls it)."""
    on_delivery: Callable[[Delivery], None] | None = None
    on_notification: Callable[[ReceivedNotification], None] | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    """Set when the sandbox is given work (`wakeup.wake_on_work`): what `serve` sleeps on."""
    _queues: dict[str, str] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)
    _notification_queue: str = ""
    _env: Any = None
    _requests: int = 0

    # ---- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        guard_loopback()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = MotoServer()
        self.endpoint = self.server.start()
        self._clients.clear()
        self._env = environment({**SANDBOX_ENV, **self.env_vars()})
        self._env.__enter__()
        try:
            self._reset()
            strict_s3.make_strict()
            self._bootstrap()
            self.renew_clients()
        except BaseException:
            # A start that fails half-way must not leave its variables in this process (the
            # next sandbox, or a test reading the stage's own fence, would see this one's).
            self.stop()
            raise
        self.ecs_sim = SimulatedEcs(
            ACCOUNT, REGION, rollout_seconds=self.rollout_seconds, shortest_wait=self.shortest_wait
        )
        self.ecs_sim.invoke_hook = self.invoke_hook
        from moto.sqs.models import sqs_backends

        wakeup.wake_on_work(self.wake, sqs_backends[ACCOUNT][REGION], self.ecs_sim.ecs)
        self.api = ApiGateway().start()
        return self

    def invoke_hook(self, function_arn: str, payload: dict[str, Any]) -> Any:
        """ECS invoking a lifecycle hook: the stage's verification hook is app.py's
        `verify_rollout`, named `berth-<stage>-verify_rollout` as Chalice deploys it; any other
        function does not exist here (Lambda: ResourceNotFoundException)."""
        name = function_arn.rsplit(":function:", 1)[-1]
        if function_arn != f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}" or (
            name != f"berth-{STAGE}-verify_rollout"
        ):
            raise LookupError(f"ResourceNotFoundException: Function not found: {function_arn}")
        delivery = self.deliver("verify_rollout", payload)
        if delivery.error:
            raise RuntimeError(delivery.error)
        return delivery.result

    def fire_alarm(self, name: str, state: str = "ALARM") -> None:
        """Put a CloudWatch alarm into `state` (creating it first), as a real metric would."""
        cloudwatch = self.client("cloudwatch")
        if not cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]:
            cloudwatch.put_metric_alarm(
                AlarmName=name, MetricName="HTTPCode_Target_5XX_Count",
                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1,
                Threshold=1.0,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
            )  # fmt: skip
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="sandbox")

    def renew_clients(self, **settings: str) -> None:
        """Give the handlers new clients, as a new Lambda container would have (botocore's retry
        quota starts full again); `settings` override the stage's environment variables."""
        # The session the Lambdas build (its botocore loader too), wrapped by the sandbox.
        session = self.index_lag.attach(self.iam.attach(self.recorder.attach(berth_session())))
        handlers.use(Berth.from_settings(self.settings(**settings), session))
        if "BERTH_IMAGE_REPOSITORIES" in settings and self._queues:
            # A packaged stage's ECR rule names its BERTH_IMAGE_REPOSITORIES
            # (berth/package.py stage_repositories): so does the sandbox's.
            listed = settings["BERTH_IMAGE_REPOSITORIES"].split(",")
            repositories = sorted({r.strip() for r in listed if r.strip()})
            routing.image_rule(
                self.client("events"), repositories or list(triggers.IMAGE_REPOSITORIES)
            )

    def stop(self) -> None:
        handlers.use(None)
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self._env is not None:
            self._env.__exit__(None, None, None)
            self._env = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reset(self) -> None:
        # moto's backends live in the process: a new sandbox starts from nothing.
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        # Generous: under a loaded machine moto's reset of every backend takes seconds.
        with urllib.request.urlopen(request, timeout=60):
            pass

    def env_vars(self) -> dict[str, str]:
        """What a shell needs to reach this sandbox with the AWS CLI or boto3."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": SANDBOX_ENV["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": SANDBOX_ENV["AWS_SECRET_ACCESS_KEY"],
            "BERTH_SPEC_BUCKET": BUCKET,
            "BERTH_TOPIC_ARN": self.topic_arn,
            "BERTH_DEPLOYMENTS_TABLE": TABLE_NAMES["DeploymentsTable"],
            "BERTH_SPECS_TABLE": TABLE_NAMES["SpecsTable"],
            "BERTH_IDEMPOTENCY_TABLE": TABLE_NAMES["IdempotencyTable"],
            # The dev stage's fence, as its Lambdas get it from .chalice/config.json and the
            # stack (BERTH_ACCOUNT), with the sandbox VPC's network in every environment.
            **{k: v for k, v in stage_variables(STAGE).items() if k in FENCE_VARIABLES},
            "BERTH_ACCOUNT": ACCOUNT,
            **self._network_fence(),
            **self._file_system_fence(),
            **resources.test_listener_fence(),
            **resources.approver_fence([PRINCIPALS["operator"][2]]),
            **({"BERTH_APPROVALS_URL": self.api.url} if self.api is not None else {}),
        }

    def _network_fence(self) -> dict[str, str]:
        """The stage's network fence widened to the sandbox's subnets and security group
        (`resources.network_fence`); before the sandbox starts, the stage's own declaration."""
        if not getattr(self, "subnets", None):
            return {}
        return resources.network_fence(self.subnets, self.security_group)

    def _file_system_fence(self) -> dict[str, str]:
        """The stage's file system fence widened to the sandbox's, as `_network_fence`."""
        if not getattr(self, "file_systems", None):
            return {}
        return resources.file_system_fence(self.file_systems)

    @property
    def topic_arn(self) -> str:
        return TOPIC_ARN

    def settings(self, **overrides: Any) -> Settings:
        return Settings.from_environment({**SANDBOX_ENV, **self.env_vars(), **overrides})

    def client(self, service: str) -> Any:
        """A client of the sandbox (the user's side, not Berth's: its calls are not recorded)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(  # type: ignore[call-overload]
                service, endpoint_url=self.endpoint, region_name=REGION
            )
        return self._clients[service]

    # ---- resources ------------------------------------------------------------------------------

    def _bootstrap(self) -> None:
        resources.create_storage(self.client)
        self.vpc, self.subnets, self.security_group = resources.create_network(self.client)
        self.file_systems = resources.create_file_systems(self.client)
        resources.create_example_secrets(self.client)
        resources.create_example_target_groups(self.client, self.vpc)
        queues, self._notification_queue = routing.create_routes(self.client)
        self._queues.update(queues)

    def create_target_group(self, arn: str) -> None:
        """Create the target group `arn` names, under that very ARN, in the sandbox VPC."""
        resources.create_target_group(self.client, self.vpc, arn)

    def create_secret(self, value_from: str, value: str = "sandbox") -> None:
        """Create the Secrets Manager secret or SSM parameter an ECS `valueFrom` names."""
        resources.create_secret(self.client, value_from, value)

    # ---- what users do --------------------------------------------------------------------------

    def adapt_spec(self, text: str) -> str:
        """A spec on the sandbox's network and file systems (`resources.adapt_spec`)."""
        return resources.adapt_spec(
            text, self.subnets, self.security_group, getattr(self, "file_systems", {})
        )

    def upload_spec(
        self, body: bytes | str, environment_name: str = "dev", name: str = "wso2.yaml"
    ) -> str:
        """Put a spec under specs/<environment>/: S3 tells EventBridge, as on AWS."""
        key = f"specs/{environment_name}/{name}"
        data = body.encode() if isinstance(body, str) else body
        return str(self.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)["VersionId"])

    def push(self, repository: str, tag: str, broken_health_check: bool = False) -> str:
        """Put an image into the sandbox ECR and emit the "ECR Image Action" ECR would."""
        return images.push_image(
            self.client("ecr"), self.client("events"), repository, tag, broken_health_check
        )

    def import_image(self, repository: str, tag: str, digest: str) -> bool:
        """Make the sandbox ECR hold `digest` under `tag` (`images.import_image`)."""
        return images.import_image(repository, tag, digest)

    def put_event(
        self, source: str, detail_type: str, detail: dict[str, Any], resources: list[str]
    ) -> None:
        routing.put_event(self.client("events"), source, detail_type, detail, resources)

    def accept_spec_directly(self, document: dict[str, Any], account: str, region: str) -> None:
        """Make `document` its environment's accepted spec without deploying it (for replay)."""
        from datetime import UTC, datetime

        from chalicelib.spec.model import Spec
        from chalicelib.values.records import AcceptedSpec, SpecVersion

        spec = Spec.model_validate(document)
        handlers.berth().store.accept_spec(
            AcceptedSpec(
                environment=spec.environment,
                account=account,
                region=region,
                source=SpecVersion(bucket=BUCKET, key=f"specs/{spec.environment}/replay.yaml"),
                accepted_at=datetime.now(UTC),
                document=document,
            )
        )

    def queue_of(self, function: str) -> str:
        return self._queues[function]

    def put_raw_event_copy(self, function: str, event: dict[str, Any]) -> None:
        """Queue an exact copy of a delivered event for `function` (a duplicate delivery)."""
        self.client("sqs").send_message(
            QueueUrl=self._queues[function], MessageBody=json.dumps(event)
        )

    # ---- the event loop -------------------------------------------------------------------------

    def deliver(self, function: str, event: Any) -> Delivery:
        """Invoke one of app.py's Lambdas with a raw event, as Lambda would."""
        handler = getattr(_app_module(), function)
        mark, started = self.recorder.mark(), time.perf_counter()
        # Lambda invokes EventBridge targets asynchronously: a failed invocation is retried
        # twice, then the event goes to the dead-letter queue (kept here as the error).
        for attempt in range(1, LAMBDA_ATTEMPTS + 1):
            self._requests += 1
            context = LambdaContext(function, f"sandbox-{self._requests}", self.lambda_timeout_ms)
            try:
                delivery = Delivery(function, event, handler(event, context), attempts=attempt)
                break
            except Exception as exc:  # recorded, as Lambda records it
                error = f"{type(exc).__name__}: {exc}"
                delivery = Delivery(function, event, None, error, attempts=attempt)
        delivery.seconds = time.perf_counter() - started
        delivery.calls = len(self.recorder.since(mark))
        self.deliveries.append(delivery)
        if self.on_delivery:
            self.on_delivery(delivery)
        return delivery

    def pump(self) -> int:
        """Deliver every event waiting in the rule queues; the number delivered.

        With `chaos` set, EventBridge's at-least-once, unordered delivery is played out: every
        waiting event is delivered one to three times, all of them in shuffled order.
        """
        queued: list[tuple[str, Any]] = []
        for function in self._queues:
            queued += [(function, event) for event in self._drain(function)]
        if self.chaos is not None:
            queued = [item for item in queued for _ in range(self.chaos.randint(1, 3))]
            self.chaos.shuffle(queued)
        for function, event in queued:
            self.deliver(function, event)
        return len(queued)

    def _drain(self, function: str) -> list[Any]:
        return routing.drain_queue(self.client("sqs"), self._queues[function])

    def collect_notifications(self) -> list[ReceivedNotification]:
        received = routing.receive_notifications(self.client("sqs"), self._notification_queue)
        for note in received:
            self.notifications.append(note)
            if self.on_notification:
                self.on_notification(note)
        return received

    def step(self) -> bool:
        """One turn: deliver queued events, advance the simulated ECS; True if anything moved."""
        moved = self.pump() > 0
        moved = bool(self.advance_ecs()) or moved
        moved = self.pump() > 0 or moved
        self.collect_notifications()
        return moved

    def advance_ecs(self, publish: bool = True) -> list[EmittedEvent]:
        """Let the simulated ECS move its rollouts on; its events go on the bus unless lost."""
        assert self.ecs_sim is not None
        events = self.ecs_sim.tick()
        if publish:
            for event in events:
                self.put_event("aws.ecs", event.detail_type, event.detail, event.resources)
        return events

    def serve(self, stop: threading.Event) -> int:
        """Turn the event loop until `stop` is set (`berth sandbox up`), sleeping while nothing
        is queued or due: woken by work given to the sandbox (`wake`) or at the simulated ECS's
        next due time, never polling. Whoever sets `stop` sets `wake` too. The number of turns."""
        assert self.ecs_sim is not None
        return wakeup.serve(self.step, self.ecs_sim.next_due, self.wake, stop.is_set)

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Turn until no event is queued and no simulated rollout is under way."""
        assert self.ecs_sim is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            moved = self.step()
            if not moved and not self.ecs_sim.busy():
                return
            if not moved:
                time.sleep(min(0.05, self.rollout_seconds or 0.01))
        raise TimeoutError(f"the sandbox did not settle within {timeout} s")


def example_spec(name: str = "wso2-dev.yaml") -> str:
    return (REPO_ROOT / "examples" / name).read_text()
