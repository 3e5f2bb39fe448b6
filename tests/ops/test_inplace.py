"""Tests for torchtn.ops._inplace.finish_inplace through contract_, contract_between_
and split_ (operations.md §4.4, §4.6, §7 item 8)."""

from __future__ import annotations

import pytest
import torch
from _tol import assert_close_elem

import torchtn as tk
from torchtn.ops._inplace import finish_inplace
from torchtn.ops.contraction import contract, contract_, contract_between, contract_between_
from torchtn.ops.decomposition import split, split_
from torchtn.ops.tensor import mul

DT = torch.float64


def _chain(n=5, param=False):
    net = tk.TensorNetwork()
    cls = tk.ParamNode if param else tk.Node
    nodes = []
    for i in range(n):
        g = torch.Generator().manual_seed(i)
        nodes.append(
            cls(
                tensor=torch.randn(3, 2, 3, generator=g, dtype=DT),
                axes_names=("left", "input", "right"),
                name="node",
                network=net,
            )
        )
    for i in range(n - 1):
        nodes[i]["right"] ^ nodes[i + 1]["left"]
    return net, nodes


def test_contract_between_inplace_result():
    net, nodes = _chain(5, param=True)
    a, b = nodes[1], nodes[2]
    ref = contract_between(a, b).tensor.detach()
    net.reset()
    r = contract_between_(a, b)
    assert r.name == "contract_edges_ip" and type(r) is tk.Node and r.is_leaf()
    assert not r.is_resultant() and not net.resultant_nodes
    assert_close_elem(r.tensor, ref)
    assert not r.tensor.requires_grad
    assert a.network is None and b.network is None
    assert a.successors == {} and b.successors == {} and net._seq_ops == []
    assert net.nodes_names == ["node_0", "node_1", "node_2", "contract_edges_ip"]
    assert (nodes[3].name, nodes[4].name) == ("node_1", "node_2")
    # neighbours now point to the result
    assert r["left"] is nodes[0]["right"] and r["left"].node2 is r
    assert r["right"] is nodes[3]["left"] and r["right"].node1 is r
    assert r.neighbours("left") is nodes[0] and nodes[3].neighbours("left") is r
    assert r["input_0"] in net.edges and r["input_1"] in net.edges
    with pytest.raises(ValueError):
        contract_between_(a, b)
    p = r.parameterize()
    assert type(p) is tk.ParamNode


def test_contract_inplace_keeps_other_shared_edge_as_self_loop():
    net = tk.TensorNetwork()
    g = torch.Generator().manual_seed(0)
    a = tk.Node(
        tensor=torch.randn(2, 5, 3, 7, generator=g, dtype=DT),
        axes_names=("left", "input", "right", "batch"),
        network=net,
    )
    b = tk.Node(
        tensor=torch.randn(3, 5, 2, 7, generator=g, dtype=DT),
        axes_names=("left", "input", "right", "batch"),
        network=net,
    )
    a["right"] ^ b["left"]
    a["left"] ^ b["right"]
    r = contract_(a["right"])
    assert r.axes_names == ["batch", "left", "input_0", "input_1", "right"]
    assert r["left"] is r["right"] and r.is_connected_to(r)
    assert r["left"].node1 is r and r["left"].node2 is r
    t = contract_between(r, r)
    assert t.shape == (7, 5, 5)


def test_split_inplace_reuses_cached_children():
    net, nodes = _chain(3)
    s1, s2 = split(nodes[1], ["left", "input"], ["right"], rank=2)
    t1, t2 = split_(nodes[1], ["left", "input"], ["right"], rank=2)
    assert t1 is s1 and t2 is s2
    assert (t1.name, t2.name) == ("split_ip_0", "split_ip_1")
    assert t1.is_leaf() and t2.is_leaf()
    assert t1.neighbours("left") is nodes[0] and t2.neighbours("right") is nodes[2]


def test_finish_inplace_clears_records_and_program():
    net, nodes = _chain(3)
    m = mul(nodes[0], 2.0)
    assert net._seq_ops and net._recording.steps
    version = net._recording.version
    r = contract_between_(nodes[1], nodes[2])
    assert net._seq_ops == [] and net._recording.steps == []
    assert net._recording.version > version  # replays built before are stale
    assert m.is_resultant()  # other resultants are left alone
    assert r.name == "contract_edges_ip"


def test_finish_inplace_direct_call_and_enumeration():
    net, nodes = _chain(4)
    r1 = contract_between(nodes[0], nodes[1])
    finish_inplace([r1], [nodes[0], nodes[1], nodes[0]], ["merged"])
    r2 = contract_between(nodes[2], nodes[3])
    finish_inplace([r2], [nodes[2], nodes[3]], ["merged"])
    assert (r1.name, r2.name) == ("merged_0", "merged_1")
    assert r1["right"] is r2["left"] and r1.neighbours("right") is r2
    assert sorted(net.nodes_names) == ["merged_0", "merged_1"]
    assert net.edges == [
        r1["left"],
        r1["input_0"],
        r1["input_1"],
        r2["input_0"],
        r2["input_1"],
        r2["right"],
    ]


def test_repeated_inplace_chain_forward():
    """In-place ops inside a network keep it usable: the next forward re-records."""

    class Net(tk.TensorNetwork):
        def __init__(self):
            super().__init__()
            nodes = []
            for i in range(3):
                g = torch.Generator().manual_seed(i)
                nodes.append(
                    tk.ParamNode(
                        tensor=torch.randn(2, 2, generator=g, dtype=DT),
                        axes_names=("left", "right"),
                        name="node",
                        network=self,
                    )
                )
            nodes[0]["right"] ^ nodes[1]["left"]
            nodes[1]["right"] ^ nodes[2]["left"]
            self.nodes_list = nodes

        def contract(self):
            n = self.nodes_list
            return contract_between(contract_between(n[0], n[1]), n[2])

    net = Net()
    ref = net()
    assert_close_elem(net(), ref)
    net.reset()
    n = net.nodes_list
    merged = contract_between_(n[0], n[1])
    net.nodes_list = [merged, n[2]]

    def contract2():
        return contract_between(net.nodes_list[0], net.nodes_list[1])

    net.contract = contract2
    assert_close_elem(net(), ref.detach())
    assert_close_elem(net(), ref.detach())


def test_contract_then_split_inplace_roundtrip():
    net, nodes = _chain(2)
    full = contract_between(nodes[0], nodes[1]).tensor
    net.reset()
    r = contract(nodes[0]["right"])
    assert r.is_resultant()
    net.reset()
    m = contract_between_(nodes[0], nodes[1])
    a, b = split_(m, ["left", "input_0"], ["input_1", "right"])
    assert_close_elem(torch.einsum("ias,sjb->iajb", a.tensor, b.tensor), full)
    assert (a.name, b.name) == ("split_ip_0", "split_ip_1")
    assert m.network is None and len(net.leaf_nodes) == 2
