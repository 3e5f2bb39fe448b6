"""Dense references for the MPO/PEPS/Tree tests: contract node tensors with ``torch.einsum``."""

from __future__ import annotations

import string

import torch


def dense_contract(nodes, data, out_edges=()):
    """Contract the tensors of ``nodes`` with ``data`` vectors on chosen edges.

    Args:
        nodes: Nodes whose current tensors are contracted along their shared edges
            (an edge joining two axes of one node is traced).
        data: Pairs ``(edge, x)`` with ``x`` of shape ``(batch, edge size)``.
        out_edges: Edges kept open, in this order, after the batch axis.

    Returns:
        Tensor ``(batch, *out)``.
    """
    letters = iter(string.ascii_letters.replace("Z", ""))
    ids = {}

    def sub(edge):
        if id(edge) not in ids:
            ids[id(edge)] = next(letters)
        return ids[id(edge)]

    operands, subs = [], []
    for node in nodes:
        operands.append(node.tensor)
        subs.append("".join(sub(e) for e in node.edges))
    for edge, x in data:
        operands.append(x)
        subs.append("Z" + sub(edge))
    out = "Z" + "".join(sub(e) for e in out_edges)
    return torch.einsum(",".join(subs) + "->" + out, *operands)
