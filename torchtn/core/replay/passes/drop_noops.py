"""Pass: drop the steps and reads that compute nothing, then dead code.

After :mod:`~torchtn.core.replay.passes.fold_permutations`, a permutation step is a
call of an identity kernel (its only effect, the axis order, is already accounted for),
and a stack of the data nodes' slices is the data memory itself: both are replaced by
their input. An index made only of full slices reads the whole tensor. Values nothing
uses any more (e.g. results a traced replay does not return) are removed by FX's
dead-code elimination.
"""

from __future__ import annotations

import operator

from torch import fx

__all__ = ["drop_noops"]


def _full(index: object) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(i, slice) and i.start in (None, 0) and i.stop is None and i.step in (None, 1)
        for i in items
    )


def drop_noops(graph: fx.Graph) -> fx.Graph:
    """Remove identity steps, full-slice reads and dead values from ``graph`` (in place)."""
    for n in list(graph.nodes):
        if n.op != "call_function":
            continue
        if getattr(n.target, "pure_identity", False) and len(n.args) == 1:
            n.replace_all_uses_with(n.args[0])
            graph.erase_node(n)
        elif (
            n.target is operator.getitem
            and isinstance(n.args[0], fx.Node)
            and isinstance(n.args[1], (tuple, slice))
            and _full(n.args[1])
        ):
            n.replace_all_uses_with(n.args[0])
            graph.erase_node(n)
    graph.eliminate_dead_code()
    return graph
