"""Deployments Berth did not start, in the deployments table (partition "external"): each is
remembered so that it is reported once.
"""

from __future__ import annotations

import json
from datetime import datetime

from .. import aws_errors
from .table import Tables, put_if, typed_item


class ExternalDeployments(Tables):
    """The store's memory of deployments it saw but did not start."""

    @aws_errors("PutItem")
    def claim_external(
        self, deployment_id: str, service_arn: str, event_name: str, expires: datetime
    ) -> bool:
        """True the first time an external deployment id is seen (so it is reported once); the
        item expires (DynamoDB TTL on `expires_at`, epoch seconds) once ECS stops sending news."""
        item = typed_item(
            {
                "pk": "external",
                "sk": deployment_id,
                "ecs_service_arn": service_arn,
                "body": json.dumps({"event": event_name}),
                "expires_at": int(expires.timestamp()),
            }
        )
        return put_if(self.db, self.deployments, item, "attribute_not_exists(sk)")
