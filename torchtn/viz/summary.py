"""A printable summary table, in the style of ``torchinfo``.

:class:`SummaryTable` is plain data (a title, column names, rows of strings and
``(label, value)`` totals) with a text rendering; ``TensorNetwork.summary()`` fills it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SummaryTable", "format_bytes"]


def format_bytes(n: int) -> str:
    """``1536 -> '1.50 KB'`` (powers of 1024)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} GB"  # pragma: no cover


@dataclass
class SummaryTable:
    """A table with a title, a header, rows and totals; ``str()`` renders it.

    Attributes:
        title: First line (e.g. the network's name and class).
        columns: Column names.
        rows: One tuple of cell strings per row.
        totals: ``(label, value)`` lines printed under the table.
        align: ``'<'`` or ``'>'`` per column (default: first left, the rest right).
        data: Raw values behind the text, for programs (any mapping).
    """

    title: str
    columns: Sequence[str]
    rows: list[tuple[str, ...]]
    totals: list[tuple[str, str]]
    align: Sequence[str] | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        n = len(self.columns)
        align = list(self.align or ["<"] + [">"] * (n - 1))
        widths = [max([len(self.columns[i])] + [len(r[i]) for r in self.rows]) for i in range(n)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths, strict=True)
            ).rstrip()

        width = max(len(self.title), len(line(self.columns)))
        out = ["=" * width, self.title, "=" * width, line(self.columns), "-" * width]
        out += [line(r) for r in self.rows]
        out.append("=" * width)
        label_width = max((len(label) for label, _ in self.totals), default=0)
        out += [f"{label + ':':<{label_width + 1}} {value}" for label, value in self.totals]
        if self.totals:
            out.append("=" * width)
        return "\n".join(out)

    def __repr__(self) -> str:
        return self.__str__()
