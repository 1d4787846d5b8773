"""Where a value of a spec came from: the path to it and its line and column.

Apart from the YAML loader (chalicelib.spec.source) so that the Lambdas that only read accepted
specs (a push's, an ECS event's) name positions without loading a YAML parser (issue 17, cold
start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Path = tuple[str | int, ...]


@dataclass
class Located:
    """A loaded document plus the line/column (1-based) of each path in it."""

    data: Any
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path) -> tuple[int, int] | None:
        """The nearest known position: the path itself, else its closest parent."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.marks:
                return self.marks[path[:end]]
        return None


class SourceError(ValueError):
    """The file cannot be read as a document at all; `line`/`column` where the parser knows them."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column


def path_text(loc: Path) -> str:
    """A field path as messages spell it: services.apim.loadBalancers[1].targetGroupArn."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
