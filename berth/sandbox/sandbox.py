"""The embedded default: Berth's real handlers on a moto server on 127.0.0.1.

Events travel as they do on AWS: S3 emits "Object Created" to EventBridge (moto does this), ECR
and the simulated ECS scheduler put their events on the bus (moto emits neither), EventBridge
rules built from the same patterns as app.py route them to one queue per Lambda, and the pump
invokes each Chalice handler with the raw event and a Lambda context. Notifications reach an SQS
queue subscribed to the SNS topic, as a subscriber's would.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import random
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

from berth.sandbox import infra, strict_s3
from berth.sandbox.calls import CallRecorder
from berth.sandbox.consistency import IndexLag
from berth.sandbox.ecs_sim import SimulatedEcs
from berth.sandbox.ecs_sim.events import EmittedEvent
from berth.sandbox.ecs_sim.task_play import BROKEN_HEALTH_MARKER
from berth.sandbox.iam import PolicyEnforcer
from berth.sandbox.server import SANDBOX_ENV, MotoServer, environment, guard_loopback
from berth.stages import FENCE_VARIABLES, stage_variables
from chalicelib import handlers
from chalicelib.adapters.clients import berth_session
from chalicelib.context import Berth
from chalicelib.settings import Settings
from chalicelib.spec.fence import environment_map
from chalicelib.values import triggers

ACCOUNT = "123456789012"
REGION = "us-east-1"
# The sandbox is the dev stage of account 123456789012: its resources carry the names the dev
# stage's template gives them, so the Lambdas run under .chalice/policy-dev.json unchanged.
STAGE = "dev"
BUCKET = f"berth-specs-{ACCOUNT}-{STAGE}"
TOPIC = f"berth-notifications-{STAGE}"
CLUSTERS = ("wso2-dev", "wso2-prod")
LAMBDA_ATTEMPTS = 3
TABLE_NAMES = {
    "DeploymentsTable": f"berth-deployments-{STAGE}",
    "SpecsTable": f"berth-specs-{STAGE}",
    "IdempotencyTable": f"berth-idempotency-{STAGE}",
}


class LambdaContext:
    """What Lambda passes as `context`; powertools reads these attributes."""

    def __init__(self, function_name: str, request_id: str, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:berth-sandbox-{function_name}"
        )
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/berth-sandbox-{function_name}"
        self.log_stream_name = "sandbox"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Delivery:
    """One handler invocation: which Lambda, the raw event, what it returned (or raised)."""

    function: str
    event: Any
    result: dict[str, Any] | None
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0
    calls: int = 0
    """AWS API calls Berth's clients made during this delivery."""


@dataclass
class ReceivedNotification:
    subject: str
    text: str
    document: dict[str, Any]
    attributes: dict[str, str]


REPO_ROOT = Path(__file__).resolve().parents[2]


def _app_module() -> Any:
    """The real Chalice app.py, loaded as Lambda loads it (the repository root is its package)."""
    if "app" not in sys.modules:
        spec = importlib.util.spec_from_file_location("app", REPO_ROOT / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["app"] = module
        spec.loader.exec_module(module)
    return sys.modules["app"]


@dataclass
class Sandbox:
    rollout_seconds: float = 0.3
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
    on_delivery: Callable[[Delivery], None] | None = None
    on_notification: Callable[[ReceivedNotification], None] | None = None
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
        self._reset()
        strict_s3.make_strict()
        self._bootstrap()
        self.renew_clients()
        self.ecs_sim = SimulatedEcs(ACCOUNT, REGION, rollout_seconds=self.rollout_seconds)
        self.ecs_sim.invoke_hook = self.invoke_hook
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
            self._image_rule(repositories or list(triggers.IMAGE_REPOSITORIES))

    def stop(self) -> None:
        handlers.use(None)
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
        with urllib.request.urlopen(request, timeout=10):
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
        }

    def _network_fence(self) -> dict[str, str]:
        """Each environment of the stage bound to the sandbox's subnets and security group (what
        `adapt_spec` gives specs) besides the ones the stage declares (the examples' ids, which
        pass the fence and then fail as on AWS: moto has no such subnet); before the sandbox
        starts, the stage's own declaration."""
        if not getattr(self, "subnets", None):
            return {}
        declared = stage_variables(STAGE)
        subnets = environment_map(declared.get("BERTH_ENVIRONMENT_SUBNETS", ""))
        groups = environment_map(declared.get("BERTH_ENVIRONMENT_SECURITY_GROUPS", ""))
        environments = environment_map(declared["BERTH_ENVIRONMENT_CLUSTERS"])
        return {
            "BERTH_ENVIRONMENT_SUBNETS": ";".join(
                f"{e}={','.join([*self.subnets, *subnets.get(e, [])])}" for e in environments
            ),
            "BERTH_ENVIRONMENT_SECURITY_GROUPS": ";".join(
                f"{e}={','.join([self.security_group, *groups.get(e, [])])}" for e in environments
            ),
        }

    def _file_system_fence(self) -> dict[str, str]:
        """Each environment's sandbox file system besides the ones the stage declares (the
        examples' ids, which pass the fence and fail the pre-flight: moto has no such file
        system), as `_network_fence` does for networks."""
        if not getattr(self, "file_systems", None):
            return {}
        declared = environment_map(
            stage_variables(STAGE).get("BERTH_ENVIRONMENT_FILE_SYSTEMS", "")
        )
        return {
            "BERTH_ENVIRONMENT_FILE_SYSTEMS": ";".join(
                f"{e}={','.join([fs, *declared.get(e, [])])}"
                for e, (fs, _) in sorted(self.file_systems.items())
            )
        }

    @property
    def topic_arn(self) -> str:
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}"

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
        template = infra.load_template()
        infra.create_tables(self.client("dynamodb"), TABLE_NAMES, template)
        s3 = self.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        ecr = self.client("ecr")
        for name in infra.repository_names(template):
            ecr.create_repository(repositoryName=name)
        ecs = self.client("ecs")
        for cluster in CLUSTERS:
            ecs.create_cluster(clusterName=cluster)
        self._network()
        self._file_systems()
        self._example_secrets()
        self._example_target_groups()
        sns, sqs, events = self.client("sns"), self.client("sqs"), self.client("events")
        sns.create_topic(Name=TOPIC)
        self._notification_queue = sqs.create_queue(QueueName="berth-sandbox-notifications")[
            "QueueUrl"
        ]
        sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol="sqs",
            Endpoint=self._queue_arn(self._notification_queue),
        )
        # The rules a packaged stage gets (berth/package.py): only Berth's bucket, repositories
        # and clusters wake it.
        rules = triggers.patterns(BUCKET, triggers.IMAGE_REPOSITORIES, CLUSTERS, ACCOUNT, REGION)
        for function, pattern in rules.items():
            url = sqs.create_queue(QueueName=f"berth-sandbox-{function}")["QueueUrl"]
            self._queues[function] = url
            events.put_rule(Name=f"berth-{function}", EventPattern=json.dumps(pattern))
            events.put_targets(
                Rule=f"berth-{function}", Targets=[{"Id": function, "Arn": self._queue_arn(url)}]
            )

    def _image_rule(self, repositories: list[str]) -> None:
        rules = triggers.patterns(BUCKET, repositories, CLUSTERS, ACCOUNT, REGION)
        pattern = json.dumps(rules["on_image_pushed"])
        self.client("events").put_rule(Name="berth-on_image_pushed", EventPattern=pattern)

    def _file_systems(self) -> None:
        """One EFS file system and access point per environment, tagged for it as an operator
        tags them (the task roles may mount only their environment's: infra/resources.yaml)."""
        efs = self.client("efs")
        self.file_systems: dict[str, tuple[str, str]] = {}
        for env in environment_map(stage_variables(STAGE)["BERTH_ENVIRONMENT_CLUSTERS"]):
            fs = efs.create_file_system(
                CreationToken=f"berth-sandbox-{env}", Encrypted=True,
                Tags=[{"Key": "berth:environment", "Value": env}],
            )["FileSystemId"]  # fmt: skip
            point = efs.create_access_point(
                FileSystemId=fs, PosixUser={"Uid": 10001, "Gid": 10001},
                RootDirectory={"Path": "/solr"},
            )["AccessPointId"]  # fmt: skip
            self.file_systems[env] = (str(fs), str(point))

    def _network(self) -> None:
        ec2 = self.client("ec2")
        vpc = self.vpc = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
        self.subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.80.{i}.0/24")["Subnet"]["SubnetId"]
            for i in (1, 2)
        ]
        self.security_group = ec2.create_security_group(
            GroupName="berth-sandbox", Description="sandbox tasks", VpcId=vpc
        )["GroupId"]

    def _example_secrets(self) -> None:
        """The secrets the examples reference, created as an operator creates them before the
        first deployment: the simulated ECS stops tasks whose secret is missing, as Fargate does."""
        # Several examples name the same secrets; each is created once.
        references: set[str] = set()
        for path in sorted((REPO_ROOT / "examples").iterdir()):
            if path.suffix not in (".yaml", ".yml", ".json"):
                continue
            document = yaml.safe_load(path.read_text())
            levels = [document, *(document.get("services") or {}).values()]
            references |= {v for level in levels for v in (level.get("secrets") or {}).values()}
            references |= set(verify_secrets(document))
        for ref in sorted(references):
            self.create_secret(ref)

    def _example_target_groups(self) -> None:
        """The target groups the examples name, created as the operator creates them (Berth's
        pre-flight refuses a change whose target group does not exist)."""
        for path in sorted((REPO_ROOT / "examples").iterdir()):
            if path.suffix not in (".yaml", ".yml", ".json"):
                continue
            document = yaml.safe_load(path.read_text())
            for service in (document.get("services") or {}).values():
                entries = [service.get("loadBalancer") or {}, *(service.get("loadBalancers") or [])]
                for entry in entries:
                    for key in ("targetGroupArn", "alternateTargetGroupArn"):
                        if entry.get(key):
                            self.create_target_group(entry[key])

    def create_target_group(self, arn: str) -> None:
        """Create the target group `arn` names, under that very ARN. ELB chooses the last part
        of a target group's ARN itself, so the examples' ARNs cannot be had through the API: the
        group is created with CreateTargetGroup (a unique name; moto refuses a name twice, as
        ELB does) and then filed under the wanted ARN and name in moto's in-process backend."""
        from moto.elbv2.models import elbv2_backends

        parts = arn.split(":")
        backend = elbv2_backends[ACCOUNT][REGION]
        if (parts[3], parts[4]) != (REGION, ACCOUNT) or arn in backend.target_groups:
            return
        name = arn.split(":targetgroup/", 1)[1].split("/", maxsplit=1)[0]
        created = self.client("elbv2").create_target_group(
            Name=f"berth-sandbox-{len(backend.target_groups)}", Protocol="HTTPS", Port=443,
            VpcId=self.vpc, TargetType="ip",
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        group = backend.target_groups.pop(created)
        group.arn, group.name = arn, name
        backend.target_groups[arn] = group

    def create_secret(self, value_from: str, value: str = "sandbox") -> None:
        """Create the Secrets Manager secret or SSM parameter an ECS `valueFrom` names."""
        parts = value_from.split(":")
        if (parts[3], parts[4]) != (REGION, ACCOUNT):
            return
        if parts[2] == "secretsmanager":
            self.client("secretsmanager").create_secret(Name=parts[6], SecretString=value)
        elif parts[2] == "ssm":
            name = parts[5].removeprefix("parameter")
            self.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString")

    def _queue_arn(self, url: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{url.rsplit('/', 1)[-1]}"

    # ---- what users do --------------------------------------------------------------------------

    def adapt_spec(self, text: str) -> str:
        """A spec with its network swapped for the sandbox VPC's subnets and security group, and
        its EFS volumes for the sandbox's file system of its environment.

        moto checks that subnets and security groups exist; the examples name real-looking ids.
        """
        document = yaml.safe_load(text)
        network = {"subnets": self.subnets, "securityGroups": [self.security_group]}
        if isinstance(document, dict):
            if "network" in document:
                document["network"] = network
            for service in (document.get("services") or {}).values():
                if isinstance(service, dict) and "network" in service:
                    service["network"] = network
                if isinstance(service, dict):
                    self._adapt_volumes(service, document.get("environment"))
        return yaml.safe_dump(document, sort_keys=False)

    def _adapt_volumes(self, service: dict[str, Any], environment: Any) -> None:
        """EFS volumes on the sandbox's file system (and access point) of the spec's environment."""
        own = getattr(self, "file_systems", {}).get(environment)
        for volume in (service.get("volumes") or {}).values():
            efs = volume.get("efs") if isinstance(volume, dict) else None
            if own is None or not isinstance(efs, dict):
                continue
            efs["fileSystemId"] = own[0]
            if "accessPointId" in efs:
                efs["accessPointId"] = own[1]

    def upload_spec(
        self, body: bytes | str, environment_name: str = "dev", name: str = "wso2.yaml"
    ) -> str:
        """Put a spec under specs/<environment>/: S3 tells EventBridge, as on AWS."""
        key = f"specs/{environment_name}/{name}"
        data = body.encode() if isinstance(body, str) else body
        return str(self.client("s3").put_object(Bucket=BUCKET, Key=key, Body=data)["VersionId"])

    def push(self, repository: str, tag: str, broken_health_check: bool = False) -> str:
        """Put an image into the sandbox ECR and emit the "ECR Image Action" ECR would."""
        return push_image(
            self.client("ecr"), self.client("events"), repository, tag, broken_health_check
        )

    def import_image(self, repository: str, tag: str, digest: str) -> bool:
        """Make the sandbox ECR hold `digest` under `tag`, as after a real push of that image
        (moto derives digests from manifests, so an exact digest is put into its backend);
        False when the repository does not exist or already holds the digest."""
        from moto.ecr.models import Image, ecr_backends

        repo = ecr_backends[ACCOUNT][REGION].repositories.get(repository)
        if repo is None or any(i.image_digest == digest for i in repo.images):
            return False
        annotations = {"berth.sandbox/imported": "true"}
        manifest = json.dumps({"schemaVersion": 2, "annotations": annotations})
        repo.images.append(Image(ACCOUNT, tag, manifest, repository, digest=digest))
        return True

    def put_event(
        self, source: str, detail_type: str, detail: dict[str, Any], resources: list[str]
    ) -> None:
        put_event(self.client("events"), source, detail_type, detail, resources)

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
        sqs, url = self.client("sqs"), self._queues[function]
        events = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            for message in messages:
                event = json.loads(message["Body"])
                # moto's EventBridge drops `account` on the way to SQS; AWS always sets it.
                event.setdefault("account", ACCOUNT)
                events.append(event)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return events

    def collect_notifications(self) -> list[ReceivedNotification]:
        sqs = self.client("sqs")
        received: list[ReceivedNotification] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self._notification_queue, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                document = json.loads(envelope["Message"])
                attributes = {
                    k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()
                }
                note = ReceivedNotification(envelope.get("Subject", ""), "", document, attributes)
                note.text = _text_of(document)
                received.append(note)
                sqs.delete_message(
                    QueueUrl=self._notification_queue, ReceiptHandle=message["ReceiptHandle"]
                )
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


def put_image(ecr: Any, repository: str, tag: str, broken_health_check: bool = False) -> str:
    """Put an image manifest into a sandbox ECR repository; its digest."""
    layer = hashlib.sha256(f"{repository}:{tag}:{broken_health_check}".encode()).hexdigest()
    annotations = {"org.opencontainers.image.version": tag}
    if broken_health_check:
        annotations[BROKEN_HEALTH_MARKER] = "failing"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": 0,
            "digest": "sha256:" + "0" * 64,
        },
        # moto derives the digest from the layer digests: one layer per build makes it unique.
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "size": 0,
                "digest": f"sha256:{layer}",
            }
        ],
        "annotations": annotations,
    }
    image = ecr.put_image(
        repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag
    )["image"]
    return str(image["imageId"]["imageDigest"])


def push_image(
    ecr: Any, events: Any, repository: str, tag: str, broken_health_check: bool = False
) -> str:
    """Put an image into a sandbox ECR and emit the event ECR sends (moto sends none)."""
    digest = put_image(ecr, repository, tag, broken_health_check)
    detail = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "action-type": "PUSH",
        "image-tag": tag,
    }
    put_event(events, "aws.ecr", "ECR Image Action", detail, [])
    return digest


def put_event(
    events: Any, source: str, detail_type: str, detail: dict[str, Any], resources: list[str]
) -> None:
    events.put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "Resources": resources,
            }
        ]
    )


def _text_of(document: dict[str, Any]) -> str:
    from chalicelib.values.notifications import Notification

    return Notification.model_validate(document).text()


def example_spec(name: str = "wso2-dev.yaml") -> str:
    return (REPO_ROOT / "examples" / name).read_text()


def verify_secrets(document: dict[str, Any]) -> list[str]:
    """The secrets Berth's verification hook reads (deployment.verify.smoke.header.secret)."""
    found = []
    for service in (document.get("services") or {}).values():
        verify = (service.get("deployment") or {}).get("verify") or {}
        header = (verify.get("smoke") or {}).get("header") or {}
        if header.get("secret"):
            found.append(str(header["secret"]))
    return found
