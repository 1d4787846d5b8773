"""Rendering: what Berth sends ECS for a spec (task definitions, service requests, strategies'
parts). Pure: values in, request shapes out."""
