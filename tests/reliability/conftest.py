"""The reliability suite's figures, printed at the end of the run (and kept in docs/maintainers.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

FIGURES: dict[str, dict[str, Any]] = defaultdict(dict)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("Berth reliability figures")
    for area, figures in FIGURES.items():
        line = ", ".join(f"{k}: {v}" for k, v in figures.items())
        terminalreporter.write_line(f"{area:<28} {line}")
