"""`Successor`: the record an operation keeps after its first call (a recorded step).

TensorKrowch user code reaches ``node.successors[op][key].child``, so the four public
attributes are part of the API. The private ones make the successor a step of the
network's :class:`~torchtn.core.recording.Recording`: the operation name and argument
key (``_op``, ``_key``), the planned :class:`~torchtn.core.kernel.Kernel` (``_run``;
None when later calls compute nothing) and the operand nodes it reads (``_args``).
``_slots`` caches where the operands and results live in memory for cached calls; it is
valid for one memory layout (``_layout``) and never pickled.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Successor"]


class Successor:
    """Cached result of an operation on given arguments.

    Args:
        node_ref: Node(s) owning the operands' memory at the first call.
        index: Index (or indices) used to read each operand from that memory.
        child: The resultant node, or list of nodes (split, unbind).
        hints: Operation-specific data precomputed at the first call.
    """

    __slots__ = (
        "node_ref",
        "index",
        "child",
        "hints",
        "_run",
        "_op",
        "_key",
        "_args",
        "_slots",
        "_layout",
        "__weakref__",
    )

    def __init__(self, node_ref: Any, index: Any, child: Any, hints: Any | None = None) -> None:
        self.node_ref = node_ref
        self.index = index
        self.child = child
        self.hints = hints
        self._run = None
        self._op = None
        self._key = None
        self._args = None
        self._slots = None
        self._layout = -1

    def __getstate__(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__[:-3]}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        self._slots = None
        self._layout = -1

    def __repr__(self) -> str:
        child = self.child
        names = [c.name for c in child] if isinstance(child, list) else child.name
        return f"Successor(child={names!r})"
