"""Shared fixtures: a fixed seed for every test and a network-state snapshot."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def network_state(net: Any) -> dict:
    """Everything observable about a network's structure, by identity.

    Node names per role, the open edges, memory keys and tensor identities, parameter
    keys and identities, name counters, and for every node its ``_tensor_info``, name,
    shape, axes (name, num, node1, batch) and edges (ends and axes).
    """

    def ident(x: Any) -> Any:
        return None if x is None else id(x)

    nodes = {}
    for name, node in net.nodes.items():
        info = node._tensor_info
        nodes[name] = dict(
            obj=id(node),
            name=node._name,
            network=ident(node._network),
            info=None
            if info is None
            else (info["address"], ident(info["node_ref"]), repr(info["index"])),
            temp=ident(node._temp_tensor),
            shape=tuple(node._shape),
            roles=(node._leaf, node._data, node._virtual),
            axes=[(ax._name, ax._num, ax._node1, ax._batch, ident(ax._node)) for ax in node._axes],
            edges=[
                (id(e), [ident(n) for n in e._nodes], [ident(a) for a in e._axes])
                for e in node._edges
            ],
        )
    return dict(
        leaf=list(net._leaf_nodes),
        data=list(net._data_nodes),
        virtual=list(net._virtual_nodes),
        resultant=list(net._resultant_nodes),
        all=sorted(net._all_nodes),
        edges=[id(e) for e in net.edges],
        memory=[(k, ident(v)) for k, v in net._memory_nodes.items()],
        params=[(k, ident(v)) for k, v in net._parameters.items()],
        counts=dict(net._repeated_nodes_names),
        nodes=nodes,
    )


@pytest.fixture
def unchanged():
    """``with unchanged(net, *more_nets): ...`` asserts the block leaves them as they were."""

    @contextlib.contextmanager
    def check(*nets: Any):
        before = [network_state(n) for n in nets]
        yield
        after = [network_state(n) for n in nets]
        for b, a in zip(before, after, strict=True):
            assert a == b

    return check
