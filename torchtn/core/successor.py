"""`Successor`: the record an operation keeps after its first call.

TensorKrowch user code reaches ``node.successors[op][key].child``, so the four public
attributes are part of the API. ``_run`` (private) is the pre-planned kernel that the
cached path and the compiled replay call; it takes operand tensors and returns the
result, with every permutation, reshape and index decided at the first call.
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

    __slots__ = ("node_ref", "index", "child", "hints", "_run", "_op", "_args", "__weakref__")

    def __init__(self, node_ref: Any, index: Any, child: Any, hints: Any | None = None) -> None:
        self.node_ref = node_ref
        self.index = index
        self.child = child
        self.hints = hints
        self._run = None
        self._op = None
        self._args = None

    def __repr__(self) -> str:
        child = self.child
        names = [c.name for c in child] if isinstance(child, list) else child.name
        return f"Successor(child={names!r})"
