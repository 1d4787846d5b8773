"""Berth's flows, one file per event served: a spec upload, an image push, an ECS rollout event,
the sweep; and `runs`, the life of a deployment they share (claim, start, finish, dependents)."""
