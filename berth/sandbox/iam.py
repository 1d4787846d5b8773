"""The sandbox runs Berth's Lambdas under the stage's own IAM policy, as AWS does.

moto's IAM enforcement cannot stand in for AWS here: it authorizes ECS, DynamoDB, SNS and ECR
calls against resource "*" only, ignores conditions and never checks iam:PassRole (see
tests/fixtures/aws/README.md). So each call Berth's clients make is turned into the requests IAM
authorizes (action, resource ARN, condition keys; from the Service Authorization Reference) and
evaluated against .chalice/policy-<stage>.json: an explicit Deny wins, else an Allow whose
Action, Resource and Condition all match, else the implicit deny (IAM user guide, "Policy
evaluation logic"). A denied call fails before it is sent, with the error AWS answers.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

POLICIES = Path(__file__).resolve().parents[2] / ".chalice"
# ECS, DynamoDB, ECR and CloudWatch Logs answer AccessDeniedException; SNS and S3 AccessDenied.
_DENIED_CODE = {"sns": "AccessDenied", "s3": "AccessDenied"}


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes for a call."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


def _matches(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    # IAM wildcards: * any run of characters, ? one character; actions are case-insensitive.
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


_CONDITIONS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda want, have: have == want,
    "StringLike": lambda want, have: _matches(want, have, case_sensitive=True),
    "ArnEquals": lambda want, have: have == want,
    "ArnLike": lambda want, have: _matches(want, have, case_sensitive=True),
}


def _null_holds(keys: dict[str, Any], context: dict[str, str]) -> bool:
    # IAM user guide, "Condition operator to check existence of condition keys": Null "true"
    # holds when the key is absent from the request, "false" when it is present.
    return all((context.get(k) is None) == (str(w).lower() == "true") for k, w in keys.items())


def _condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, keys in condition.items():
        if operator == "Null":
            if not _null_holds(keys, context):
                return False
            continue
        test = _CONDITIONS.get(operator)
        if test is None:
            return False  # an operator this evaluator does not know: fail closed
        for key, wanted in keys.items():
            have = context.get(key)
            if have is None or not any(test(w, have) for w in _listed(wanted)):
                return False
    return True


def _statement_applies(statement: dict[str, Any], request: Request) -> bool:
    actions = _listed(statement.get("Action", []))
    resources = _listed(statement.get("Resource", []))
    return (
        any(_matches(a, request.action, case_sensitive=False) for a in actions)
        and any(_matches(r, request.resource, case_sensitive=True) for r in resources)
        and _condition_holds(statement.get("Condition", {}), request.context)
    )


def allowed(policy: dict[str, Any], request: Request) -> bool:
    statements = policy.get("Statement", [])
    if any(s["Effect"] == "Deny" and _statement_applies(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _statement_applies(s, request) for s in statements)


def _s3_requests(operation: str, params: dict[str, Any]) -> list[Request]:
    if operation == "ListObjectsV2":
        return [Request("s3:ListBucket", f"arn:aws:s3:::{params['Bucket']}")]
    action = "s3:GetObjectVersion" if params.get("VersionId") else f"s3:{operation}"
    return [Request(action, f"arn:aws:s3:::{params['Bucket']}/{params['Key']}")]


ResourceTags = Callable[[str], dict[str, str]]
"""The tags of an existing resource, by ARN (empty when it has none or does not exist)."""


def _no_tags(arn: str) -> dict[str, str]:
    return {}


def requests_of(
    service: str, operation: str, params: dict[str, Any], region: str, account: str, *,
    resource_tags: ResourceTags = _no_tags,
) -> list[Request]:  # fmt: skip
    """What IAM authorizes for one call (Service Authorization Reference, per service)."""
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}"
    if service == "dynamodb" and operation == "TransactWriteItems":
        # Authorized item by item as the underlying PutItem/UpdateItem/DeleteItem, and
        # ConditionCheckItem for a ConditionCheck (DynamoDB developer guide, "Using IAM with
        # DynamoDB transactions").
        actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                   "ConditionCheck": "ConditionCheckItem"}  # fmt: skip
        return [
            Request(
                f"dynamodb:{actions[kind]}",
                arn.format("dynamodb", f"table/{item[kind]['TableName']}"),
                {"dynamodb:EnclosingOperation": "TransactWriteItems"},
            )
            for item in params["TransactItems"]
            for kind in item
        ]
    if service in ("ec2", "secretsmanager", "ssm", "efs"):
        return _preflight_requests(service, operation, params, arn)
    if service == "elbv2" and operation in ("DescribeTargetGroups",
                                            "DescribeTargetGroupAttributes"):
        # IAM's prefix for ELB v2 is elasticloadbalancing; its Describe* actions take no
        # resource-level permissions (Service Authorization Reference, Elastic Load Balancing V2:
        # DescribeTargetGroups and DescribeTargetGroupAttributes list no resource type), so the
        # resource is "*".
        return [Request(f"elasticloadbalancing:{operation}", "*")]
    if service == "dynamodb":
        table = arn.format("dynamodb", f"table/{params['TableName']}")
        if params.get("IndexName"):
            table += f"/index/{params['IndexName']}"
        return [Request(f"dynamodb:{operation}", table)]
    if service == "s3":
        return _s3_requests(operation, params)
    if service == "sns":
        return [Request(f"sns:{operation}", params["TopicArn"])]
    if service == "events" and operation == "PutEvents":
        # One authorization per entry, with its source as events:source (EventBridge user
        # guide, "Using IAM policy conditions": events:source applies to PutEvents).
        return [
            Request(
                "events:PutEvents",
                arn.format("events", f"event-bus/{entry.get('EventBusName') or 'default'}"),
                {"events:source": entry["Source"]},
            )
            for entry in params["Entries"]
        ]
    if service == "ecr":
        repository = arn.format("ecr", f"repository/{params['repositoryName']}")
        return [Request(f"ecr:{operation}", repository)]
    if service == "logs":
        group = arn.format("logs", f"log-group:{params['logGroupName']}")
        return [Request(f"logs:{operation}", group)]
    if service == "ecs":
        return _service_deployment_requests(operation, params, arn) or _ecs_requests(
            operation, params, arn, resource_tags
        )
    raise ValueError(f"no IAM model for {service}:{operation}: add one before Berth calls it")


def _preflight_requests(
    service: str, operation: str, params: dict[str, Any], arn: str
) -> list[Request]:
    """The look-ups of the pre-flight (Service Authorization Reference): EC2's Describe* take
    no resource-level permissions ("*"); a secret and each parameter are their own resource."""
    if service == "ec2":
        return [Request(f"ec2:{operation}", "*")]
    if service == "efs":
        # Service Authorization Reference, Amazon Elastic File System: DescribeFileSystems and
        # DescribeAccessPoints authorize on the file system (file-system/<id>) when one is named;
        # without one, on "*". Berth always names it.
        named = params.get("FileSystemId")
        resource = arn.format("elasticfilesystem", f"file-system/{named}") if named else "*"
        return [Request(f"elasticfilesystem:{operation}", resource)]
    if service == "secretsmanager":
        secret = str(params["SecretId"])
        if not secret.startswith("arn:"):
            secret = arn.format("secretsmanager", f"secret:{secret}")
        return [Request(f"secretsmanager:{operation}", secret)]
    return [
        Request(f"ssm:{operation}", arn.format("ssm", f"parameter/{name.lstrip('/')}"))
        for name in params["Names"]
    ]


def _task_request(operation: str, params: dict[str, Any], arn: str, cluster: str) -> Request:
    """RunTask and StopTask, with the cluster as ecs:cluster (Service Authorization Reference,
    Amazon ECS): RunTask authorizes on the task definition (task-definition/<family>:<revision>),
    StopTask on the task (task/<cluster>/<id>)."""
    cluster_arn = arn.format("ecs", f"cluster/{cluster}")
    if operation == "RunTask":
        named, resource = str(params["taskDefinition"]), "task-definition/{}"
    else:
        named, resource = str(params["task"]), f"task/{cluster}/{{}}"
    target = named if named.startswith("arn:") else arn.format("ecs", resource.format(named))
    return Request(f"ecs:{operation}", target, {"ecs:cluster": cluster_arn})


def _service_deployment_requests(operation: str, params: dict[str, Any], arn: str) -> list[Request]:
    """Service Authorization Reference, Amazon ECS: ListServiceDeployments authorizes on the
    service (resource type service); DescribeServiceDeployments on both the service and each
    service deployment (resource types service and service-deployment,
    service-deployment/<cluster>/<service>/<id>). Nothing for another operation."""
    action = f"ecs:{operation}"
    if operation == "ListServiceDeployments":
        cluster = str(params.get("cluster", "default")).rsplit("/", 1)[-1]
        name = str(params["service"]).rsplit("/", 1)[-1]
        return [Request(action, arn.format("ecs", f"service/{cluster}/{name}"))]
    if operation != "DescribeServiceDeployments":
        return []
    requests: list[Request] = []
    for deployment in params["serviceDeploymentArns"]:
        cluster, name = str(deployment).split(":service-deployment/", 1)[-1].split("/")[:2]
        requests.append(Request(action, arn.format("ecs", f"service/{cluster}/{name}")))
        requests.append(Request(action, str(deployment)))
    return requests


def _ecs_requests(
    operation: str, params: dict[str, Any], arn: str, resource_tags: ResourceTags = _no_tags
) -> list[Request]:
    action = f"ecs:{operation}"
    cluster = str(params.get("cluster", "default")).rsplit("/", 1)[-1]

    def service_arn(name: str) -> str:
        return arn.format("ecs", f"service/{cluster}/{name.rsplit('/', 1)[-1]}")

    requests: list[Request] = []
    if operation == "CreateService":
        # Tags given on create are the request's (aws:RequestTag/<key>: Service Authorization
        # Reference, Amazon ECS, CreateService condition keys; ECS developer guide, "Control
        # access to Amazon ECS resources using resource tags").
        tags = {f"aws:RequestTag/{t['key']}": t["value"] for t in params.get("tags") or []}
        requests.append(Request(action, service_arn(params["serviceName"]), tags))
    elif operation == "TagResource":
        # A live service's tags, added (Service Authorization Reference, Amazon ECS,
        # TagResource: aws:RequestTag/<key> for the tags given, aws:ResourceTag/<key> for the
        # service's own).
        target = str(params["resourceArn"])
        context = {f"aws:RequestTag/{t['key']}": t["value"] for t in params.get("tags") or []}
        context.update({f"aws:ResourceTag/{k}": v for k, v in resource_tags(target).items()})
        requests.append(Request(action, target, context))
    elif operation in ("UpdateService", "DeleteService"):
        # The service's own tags (aws:ResourceTag/<key>: the same reference, UpdateService and
        # DeleteService on resource type service).
        target = service_arn(params["service"])
        tags = {f"aws:ResourceTag/{k}": v for k, v in resource_tags(target).items()}
        requests.append(Request(action, target, tags))
    elif operation == "DescribeServices":
        requests += [Request(action, service_arn(s)) for s in params["services"]]
    elif operation == "DescribeClusters":
        requests += [
            Request(action, arn.format("ecs", f"cluster/{c.rsplit('/', 1)[-1]}"))
            for c in params["clusters"]
        ]
    elif operation in ("RunTask", "StopTask"):
        requests.append(_task_request(operation, params, arn, cluster))
    else:  # RegisterTaskDefinition, DescribeTaskDefinition, ListTasks, DescribeTasks: "*"
        requests.append(Request(action, "*"))
    if operation == "RegisterTaskDefinition":
        # ECS passes the roles to ecs-tasks.amazonaws.com: iam:PassRole on each.
        requests += [
            Request("iam:PassRole", params[key], {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
            for key in ("executionRoleArn", "taskRoleArn")
            if params.get(key)
        ]
    if operation in ("CreateService", "UpdateService"):
        # Blue/green, canary and linear deployments: the infrastructure role for load balancers
        # and the lifecycle hooks' role are passed to ECS itself (ECS developer guide, "Amazon ECS
        # infrastructure IAM role for load balancers": the role trusts ecs.amazonaws.com, and the
        # caller needs iam:PassRole on it).
        passed = [
            (b.get("advancedConfiguration") or {}).get("roleArn")
            for b in params.get("loadBalancers") or []
        ] + [
            h.get("roleArn")
            for h in (params.get("deploymentConfiguration") or {}).get("lifecycleHooks") or []
        ]
        requests += [
            Request("iam:PassRole", role, {"iam:PassedToService": "ecs.amazonaws.com"})
            for role in dict.fromkeys(r for r in passed if r)
        ]
    if params.get("tags") and operation in ("CreateService", "RegisterTaskDefinition", "RunTask"):
        requests.append(Request("ecs:TagResource", "*", {"ecs:CreateAction": operation}))
    return requests


@dataclass
class PolicyEnforcer:
    """Authorizes each call of a boto3 session against one stage's policy before it is sent."""

    stage: str
    region: str
    account: str
    policy: dict[str, Any] = field(default_factory=dict)
    denied: list[Request] = field(default_factory=list)
    _last_bucket: str = ""

    def __post_init__(self) -> None:
        self.policy = json.loads((POLICIES / f"policy-{self.stage}.json").read_text())

    def _ecs_tags(self, arn: str) -> dict[str, str]:
        """A service's tags as the sandbox's moto backend (in this process) holds them."""
        from moto.ecs.models import ecs_backends

        try:
            tags = ecs_backends[self.account][self.region].list_tags_for_resource(arn)
        except Exception:  # no such service: no tags, as AWS has none to condition on
            return {}
        return {str(t["key"]): str(t["value"]) for t in tags or []}

    def attach(self, session: Any) -> Any:
        session.events.register("before-parameter-build", self._authorize)
        session.events.register("after-call.s3.GetObject", self._hide_missing_keys)
        return session

    def _hide_missing_keys(self, parsed: Any, **_: Any) -> None:
        """S3 API reference, GetObject: "If you don't have the s3:ListBucket permission, Amazon
        S3 returns an HTTP status code 403 Access Denied error" for a key that does not exist,
        instead of 404 NoSuchKey. moto always answers NoSuchKey."""
        error = parsed.get("Error") if isinstance(parsed, dict) else None
        if not error or error.get("Code") != "NoSuchKey":
            return
        bucket = error.get("BucketName") or parsed.get("BucketName", "")
        listing = Request("s3:ListBucket", f"arn:aws:s3:::{bucket or self._last_bucket}")
        if not allowed(self.policy, listing):
            self.denied.append(listing)
            error.update({"Code": "AccessDenied", "Message": "Access Denied"})
            parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = 403

    def _authorize(self, model: Any, params: Any, **_: Any) -> None:
        service = model.service_model.service_name
        if service == "s3" and "Bucket" in params:
            self._last_bucket = str(params["Bucket"])
        requests = requests_of(
            service, model.name, dict(params), self.region, self.account,
            resource_tags=self._ecs_tags,
        )  # fmt: skip
        for request in requests:
            if not allowed(self.policy, request):
                self.denied.append(request)
                role = f"berth-{self.stage}-lambda"
                answer: Any = {
                    "Error": {
                        "Code": _DENIED_CODE.get(service, "AccessDeniedException"),
                        "Message": (
                            f"User: arn:aws:sts::{self.account}:assumed-role/{role}/{role} "
                            f"is not authorized to perform: {request.action} on resource: "
                            f"{request.resource} because no identity-based policy allows "
                            f"the {request.action} action"
                        ),
                    },
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
                raise ClientError(answer, model.name)
