"""Rendering: what Berth sends ECS for a spec (task definitions, service requests, strategies'
parts). Pure: values in, request shapes out.

One direction, top to bottom (an import-linter contract in pyproject.toml): the requests
(`task_definition`, `service_request`, and `schema_task` over them, which runs in the service's
network) and the live comparison compose the parts
(`containers`, `strategies`), which build on the images and the schema plan. The service request
composes the strategies' parts; strategies never ask the renderers.
"""
