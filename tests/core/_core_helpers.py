"""Helpers shared by the core tests."""

from __future__ import annotations

import torchtn as tk


def from_edges_of(node, make=tk.Node, **kwargs):
    """``make`` a ``(left, input, right)`` node of ``node``'s shape and network on its edges.

    ``make`` is a node constructor (``tk.Node``, ``tk.Node._create_resultant``...); the
    new node gets ``node.edges`` with ``node.is_node1()`` as ``node1_list``.
    """
    return make(
        shape=tuple(node.shape),
        axes_names=("left", "input", "right"),
        network=node.network,
        edges=node.edges,
        node1_list=node.is_node1(),
        **kwargs,
    )
