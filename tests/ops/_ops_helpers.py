"""Helpers shared by the ops tests: seeded random nodes and a snapshot of a network."""

from __future__ import annotations

import torch

import torchtn as tk

DT = torch.float64


def rand_node(shape, names, net=None, name=None, param=False, seed=0, dtype=DT):
    """A Node (ParamNode if ``param``) holding a seeded ``randn`` tensor of ``dtype``.

    The entries are drawn in float64 and cast; a complex ``dtype`` adds ``1j`` times a
    second draw from the same generator.
    """
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)
    if dtype.is_complex:
        t = t + 1j * torch.randn(*shape, generator=g, dtype=torch.float64)
    cls = tk.ParamNode if param else tk.Node
    return cls(tensor=t, axes_names=names, network=net, name=name)


def snapshot(net):
    """Node names, edges, number of recorded operations and successors of ``net``."""
    return (
        list(net.nodes_names),
        list(net.edges),
        len(net._seq_ops),
        {n: {k: dict(v) for k, v in node.successors.items()} for n, node in net.nodes.items()},
    )
