"""Berth's boto3 session: botocore's loader told which services exist (BerthServicesLoader), so a
cold Lambda's first client does not list every directory of botocore/data. It must build every
client Berth uses from the very models botocore's own loader would pick."""

from __future__ import annotations

from functools import cached_property

import boto3
import pytest
from botocore import xform_name
from botocore.exceptions import UnknownServiceError

from chalicelib.adapters.clients import SERVICES, Clients, berth_session
from chalicelib.settings import Settings

SETTINGS = Settings(region="us-east-1", spec_bucket="specs", topic_arn="arn:t")


def _client_properties() -> list[str]:
    return [name for name, value in vars(Clients).items() if isinstance(value, cached_property)]


def test_the_services_named_are_exactly_the_clients_berth_builds():
    clients = Clients(SETTINGS)
    built = {getattr(clients, name).meta.service_model.service_name for name in _client_properties()}
    assert built == set(SERVICES)


def _paginated(client: object) -> set[str]:
    model = client.meta.service_model  # type: ignore[attr-defined]
    return {name for name in model.operation_names if client.can_paginate(xform_name(name))}  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", SERVICES)
def test_each_client_has_the_models_botocores_own_loader_picks(service):
    ours = berth_session().client(service, region_name="us-east-1")  # type: ignore[call-overload]
    stock = boto3.session.Session().client(service, region_name="us-east-1")  # type: ignore[call-overload]
    assert ours.meta.service_model.api_version == stock.meta.service_model.api_version
    assert ours.meta.service_model.operation_names == stock.meta.service_model.operation_names
    assert ours.meta.endpoint_url == stock.meta.endpoint_url  # the endpoint rule set
    assert _paginated(ours) == _paginated(stock)  # paginators-1


def test_the_loader_lists_only_berths_services_and_refuses_others_by_name():
    session = berth_session()
    assert session.get_available_services() == sorted(SERVICES)
    assert len(boto3.session.Session().get_available_services()) > 300
    with pytest.raises(UnknownServiceError, match="Unknown service: 'iam'"):
        session.client("iam", region_name="us-east-1")  # type: ignore[call-overload]


def test_aws_data_path_still_adds_to_the_search_path(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = berth_session()._session.get_component("data_loader")
    stock = boto3.session.Session()._session.get_component("data_loader")
    assert str(tmp_path) in loader.search_paths
    assert loader.search_paths == stock.search_paths  # the same places, in the same order
