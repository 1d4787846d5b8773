"""Create the sandbox's resources from the same CloudFormation template a real deployment uses."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "resources.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form intrinsics (!Ref, !Sub, ...) as {"Fn::X": value}."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        return dict(yaml.load(handle, Loader=_CfnLoader))


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties", {})
        for name, resource in template["Resources"].items()
        if resource.get("Type") == kind
    }


def create_tables(db: DynamoDBClient, names: dict[str, str], template: dict[str, Any]) -> None:
    """Create each AWS::DynamoDB::Table of the template under the name `names[logical id]`."""
    for logical, props in resources_of_type(template, "AWS::DynamoDB::Table").items():
        indexes = props.get("GlobalSecondaryIndexes")
        db.create_table(
            TableName=names[logical],
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
        )
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            db.update_time_to_live(TableName=names[logical], TimeToLiveSpecification=ttl)


def repository_names(template: dict[str, Any]) -> list[str]:
    return [
        p["RepositoryName"] for p in resources_of_type(template, "AWS::ECR::Repository").values()
    ]
