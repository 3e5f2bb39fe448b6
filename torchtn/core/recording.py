"""`Recording`: the operations a network recorded at their first calls, in call order.

A network has one recording. Each step is the :class:`~torchtn.core.successor.Successor`
an operation stored at its first call (operation name, argument key, kernel, operand
nodes, resultant nodes). ``forward`` replays the recording as one ``torch.fx`` graph
(:mod:`torchtn.core.replay`).

Two counters tell caches when they are stale:

* ``layout`` changes whenever the memory layout may have changed (renames, removals,
  new nodes, references, data nodes, ``reset``, ``.to()``): cached operand addresses
  (:func:`torchtn.core.memory.resolve`) and replay programs are rebuilt;
* ``version`` changes whenever the steps or the layout change: replay programs compare it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["Recording"]


class Recording:
    """Ordered steps plus the counters that invalidate what was derived from them."""

    __slots__ = ("steps", "layout", "version")

    def __init__(self) -> None:
        self.steps: list[Any] = []
        self.layout = 0
        self.version = 0

    def record(self, step: Any) -> None:
        """Append a step (an operation's first call)."""
        self.steps.append(step)
        self.version += 1

    def clear(self) -> None:
        """Forget every step (``reset()``, in-place operations)."""
        self.steps = []
        self.layout += 1
        self.version += 1

    def layout_changed(self) -> None:
        """Invalidate everything derived from the memory layout."""
        self.layout += 1
        self.version += 1

    def ops(self) -> list[tuple[str, tuple]]:
        """``(operation name, argument key)`` of each step (TensorKrowch's ``_seq_ops``)."""
        return [(s._op, s._key) for s in self.steps]

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.steps)

    def __getstate__(self) -> dict:
        return {"steps": self.steps}

    def __setstate__(self, state: dict) -> None:
        self.steps = state["steps"]
        self.layout = 0
        self.version = 0

    def __repr__(self) -> str:
        return f"Recording({len(self.steps)} steps, version {self.version})"
