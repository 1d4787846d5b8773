"""The zip's SDK slimmed to what Berth's Lambdas read (issue 30): botocore's models without their
documentation strings and without waiters, still building, validating and paginating the
requests Berth sends."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import botocore
import botocore.session
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from berth.request_shapes import refused_requests, rendered_requests
from berth.sdk_bundle import slim_sdk, strip_documentation
from chalicelib.adapters.clients import SERVICES

DATA = Path(botocore.__file__).parent / "data"


def _model(path: Path) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()))


def test_stripping_keeps_every_operation_shape_and_member_and_only_drops_their_documentation():
    model = {
        "metadata": {"endpointPrefix": "x", "documentation": "d"},
        "documentation": "the service",
        "operations": {"Op": {"name": "Op", "input": {"shape": "In"}, "documentation": "d",
                              "documentationUrl": "u"}},
        "shapes": {"In": {"type": "structure", "documentation": "d", "members": {
            "documentation": {"shape": "S", "documentation": "a member so named"},
            "other": {"shape": "S", "locationName": "o"}}}, "S": {"type": "string"}},
    }  # fmt: skip
    assert strip_documentation(model) == {
        "metadata": {"endpointPrefix": "x"},
        "operations": {"Op": {"name": "Op", "input": {"shape": "In"}}},
        "shapes": {"In": {"type": "structure", "members": {
            "documentation": {"shape": "S"}, "other": {"shape": "S", "locationName": "o"}}},
            "S": {"type": "string"}},
    }  # fmt: skip


def test_the_slimmed_models_are_smaller_and_take_every_request_berth_renders(tmp_path):
    data = tmp_path / "botocore" / "data"
    data.mkdir(parents=True)
    for name in (*SERVICES, "endpoints.json", "partitions.json", "sdk-default-configuration.json",
                 "_retry.json"):  # fmt: skip
        source = DATA / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, data / name)
    [original] = DATA.glob("ecs/*/service-2.json.gz")
    slim_sdk(tmp_path, SERVICES)
    [slimmed] = data.glob("ecs/*/service-2.json.gz")
    # Given the slimmed ECS model: it is under a third of the shipped one, documents nothing,
    assert slimmed.stat().st_size * 3 < original.stat().st_size
    assert "documentation" not in json.dumps(_model(slimmed)["shapes"]["DeploymentConfiguration"])
    assert not list(data.glob("*/*/waiters-2.json"))
    assert list(data.glob("ecr/*/paginators-1.json"))
    # and takes every request Berth renders, as the shipped model does
    assert refused_requests(data) == []
    shipped = botocore.session.get_session().get_service_model("ecs")
    ours = ServiceModel(_model(slimmed), service_name="ecs")
    validator = ParamValidator()
    for _, operation, params in rendered_requests():
        assert not validator.validate(
            params, ours.operation_model(operation).input_shape
        ).has_errors()
        assert set(ours.operation_model(operation).input_shape.members) == set(
            shipped.operation_model(operation).input_shape.members
        )


def test_a_client_on_the_slimmed_data_builds_and_paginates(tmp_path):
    data = tmp_path / "botocore" / "data"
    data.mkdir(parents=True)
    for name in ("ecr", "dynamodb", "endpoints.json", "partitions.json",
                 "sdk-default-configuration.json", "_retry.json"):  # fmt: skip
        source = DATA / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, data / name)
    slim_sdk(tmp_path, ("ecr", "dynamodb"))
    session = botocore.session.Session()
    session.set_config_variable("data_path", str(data))
    loader = session.get_component("data_loader")
    loader.search_paths.insert(0, str(data))
    client = session.create_client("ecr", region_name="us-east-1", aws_access_key_id="a",
                                   aws_secret_access_key="b")  # fmt: skip
    assert client.can_paginate("describe_images")
    assert client.meta.service_model.operation_model("DescribeImages").documentation == ""
