"""Once per event: powertools idempotency on DynamoDB, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(service="berth")
Outcomes = list[dict[str, Any]]


def _mark_replay(response: Any, idempotent_data: DataRecord) -> Outcomes:
    """A redelivered event gets the first delivery's outcomes, each marked as a duplicate."""
    logger.info(
        "duplicate delivery; returning the first delivery's outcome",
        extra={"idempotency_key": idempotent_data.idempotency_key},
    )
    return [{**o, "duplicate": True} for o in response or []]


def _run(key: dict[str, Any], work: Callable[[], Outcomes]) -> Outcomes:
    return work()


class Once:
    """Runs `work` once per `key`: a redelivered event returns the first delivery's outcome."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.config = IdempotencyConfig(
            expires_after_seconds=7 * 24 * 3600, response_hook=_mark_replay
        )
        persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
        self._once: Callable[..., Outcomes] = idempotent_function(
            data_keyword_argument="key", persistence_store=persistence, config=self.config
        )(_run)

    def __call__(
        self, key: dict[str, Any], work: Callable[[], Outcomes], lambda_context: Any = None
    ) -> Outcomes:
        if lambda_context is not None:
            self.config.register_lambda_context(lambda_context)
        return self._once(key=key, work=work)
