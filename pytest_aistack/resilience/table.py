"""The resiliency matrix as a fixed-width text table, one wrapped row per scenario."""

from __future__ import annotations

import textwrap

from pytest_aistack.resilience.records import ScenarioRecord, resilience_matrix

# column title -> width in characters; longer cells wrap inside their column.
COLUMNS = (
    ("dependency", 16),
    ("fault", 28),
    ("promise", 24),
    ("expected", 32),
    ("observed", 40),
    ("verdict", 7),
)


def format_table(records: list[ScenarioRecord]) -> str:
    """Rows grouped by dependency (:func:`resilience_matrix`), a rule between rows."""

    def cells(values: list[str]) -> list[str]:
        wrapped = [
            textwrap.wrap(value, width) or [""]
            for value, (_, width) in zip(values, COLUMNS, strict=True)
        ]
        height = max(len(w) for w in wrapped)
        return [
            " | ".join(
                (w[i] if i < len(w) else "").ljust(width)
                for w, (_, width) in zip(wrapped, COLUMNS, strict=True)
            ).rstrip()
            for i in range(height)
        ]

    rule = "-+-".join("-" * width for _, width in COLUMNS)
    lines = [*cells([name for name, _ in COLUMNS]), rule]
    for row in resilience_matrix(records):
        observed = " / ".join(row.observed)
        lines += cells(
            [row.dependency, row.fault, row.promise, row.expected, observed, row.verdict]
        )
        lines.append(rule)
    return "\n".join(lines)
