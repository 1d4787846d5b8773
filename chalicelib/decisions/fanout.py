"""How a wide run is cut into batches, each deployed by its own invocation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def batches(
    order: Sequence[str], depends_on: Mapping[str, Sequence[str]], size: int
) -> list[list[str]]:
    """`order`'s services (deployment order) in batches of at most `size`. Services joined by
    `dependsOn` stay in one batch, in order, so a dependent always finds its dependency's claim
    and waits for it; such a group larger than `size` is a batch of its own."""
    members = set(order)
    parent = {name: name for name in order}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for name in order:
        for dependency in depends_on.get(name, ()):
            if dependency in members:
                parent[root(name)] = root(dependency)
    groups: dict[str, list[str]] = {}
    for name in order:
        groups.setdefault(root(name), []).append(name)
    packed: list[list[str]] = []
    for group in groups.values():
        if packed and len(packed[-1]) + len(group) <= size:
            packed[-1].extend(group)
        else:
            packed.append(list(group))
    return packed
