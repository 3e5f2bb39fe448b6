"""The common tail of every in-place operation (``contract_``, ``split_``, ``svd_``...).

An in-place operation first runs its ordinary (cached) counterpart, then turns the
resultant node(s) into leaves that replace the operands in the graph:

1. each result gets its own copies of the edges it inherited, and the neighbours are
   re-pointed to those copies;
2. the results' tensors are detached (no grad history);
3. the operands are deleted from the network (which re-enumerates same-base names);
4. the results become leaf nodes and their open edges are listed in ``net.edges``;
5. the operands' successors and the network's whole operation record are cleared;
6. the results are renamed (``contract_edges_ip``, ``split_ip``...).
"""

from __future__ import annotations

from collections.abc import Sequence

from torchtn.core import memory
from torchtn.core.node import AbstractNode

__all__ = ["finish_inplace"]


def finish_inplace(
    results: Sequence[AbstractNode], originals: Sequence[AbstractNode], new_names: Sequence[str]
) -> None:
    """Turn resultant ``results`` into leaf nodes replacing ``originals``.

    Args:
        results: Resultant nodes just produced from ``originals`` (all in one network).
        originals: Operand nodes to delete (duplicates are deleted once).
        new_names: Names given to ``results`` at the end, one per result (subject to
            the network's enumeration rules).
    """
    net = results[0].network

    # 1. Own the inherited edges; neighbours now point to the results.
    for node in results:
        node.reattach_edges(override=True)

    # 2. Detached tensors (results own their memory slot).
    for node in results:
        tensor = node.tensor
        if not memory.owns(node):
            node.reset_tensor_address()
        node._direct_set_tensor(None if tensor is None else tensor.detach())

    # 3. Delete each operand once (re-enumerating nodes that share its base name).
    deleted: list[AbstractNode] = []
    for node in originals:
        if any(node is d for d in deleted):
            continue
        deleted.append(node)
        if node.network is net:
            net.delete_node(node, move_names=True)

    # 4. Results become leaves; their dangling non-batch edges join ``net.edges``.
    for node in results:
        for edge in node.edges:
            if edge.nodes[0] is node:
                net._refresh_edge(edge)
    for node in results:
        if node.is_resultant():
            net._change_node_role(node, leaf=True, data=False, virtual=False)

    # 5. Forget everything recorded: the graph changed under the cached operations.
    for node in deleted:
        node.successors.clear()
    net._recording.clear()

    # 6. Final names.
    for node, name in zip(results, new_names, strict=True):
        node.name = name
