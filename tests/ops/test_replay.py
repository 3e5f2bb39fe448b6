"""Forward replay of recorded operations: first call vs replay vs traced replay."""

from __future__ import annotations

import itertools

import pytest
import torch

import torchtn as tk

DT = torch.float64
MODES = list(itertools.product([True, False], [True, False]))


class MPSRing(tk.TensorNetwork):
    """Periodic MPS written like TensorKrowch users write it."""

    def __init__(self, n=5, d=3, bond=2, kind="stacked"):
        super().__init__(name="mps")
        self.kind = kind
        gen = torch.Generator().manual_seed(0)
        self.cores = []
        for _ in range(n):
            t = torch.randn(bond, d, bond, dtype=DT, generator=gen) * 0.5
            self.cores.append(
                tk.ParamNode(
                    tensor=t, axes_names=("left", "input", "right"), name="core", network=self
                )
            )
        for i in range(n):
            self.cores[i]["right"] ^ self.cores[(i + 1) % n]["left"]

    def set_data_nodes(self):
        super().set_data_nodes([c["input"] for c in self.cores], 1)

    def contract(self):
        data = list(self.data_nodes.values())
        if self.kind == "chain":
            res = [c @ d for c, d in zip(self.cores, data, strict=False)]
        else:
            sc = tk.stack(self.cores)
            sd = tk.stack(data)
            sc["input"] ^ sd["feature"]
            res = tk.unbind(sc @ sd)
        out = res[0]
        for r in res[1:]:
            out = out @ r
        if self.kind == "unbind_last":  # ends with an unbind returning one node
            return tk.unbind(tk.stack([out]))[0]
        return out


def _first_operand(name, key):
    if name == "stack":
        return key[0][0]
    return key[1] if name == "contract_edges" else key[0]


def _output_node(net):
    name, key = net._seq_ops[-1]
    child = _first_operand(name, key).successors[name][key].child
    return child[0] if isinstance(child, list) else child


def _run(net, x):
    out = net(x)
    grads = torch.autograd.grad(out.sum(), [p for p in net.parameters()])
    return out.detach().clone(), [g.clone() for g in grads]


def _reference(x, kind):
    net = MPSRing(kind="chain")
    net.auto_stack = net.auto_unbind = False
    return _run(net, x)


@pytest.mark.parametrize("kind", ["stacked", "chain", "unbind_last"])
@pytest.mark.parametrize("auto_stack,auto_unbind", MODES)
def test_first_replay_trace_agree(kind, auto_stack, auto_unbind):
    torch.manual_seed(1)
    x = torch.randn(4, 5, 3, dtype=DT)
    net = MPSRing(kind=kind)
    net.auto_stack, net.auto_unbind = auto_stack, auto_unbind
    o1, g1 = _run(net, x)
    assert o1.shape == (4,)
    o2, g2 = _run(net, x)
    # The replay runs the first call's kernels in the same order on the same shapes: bitwise.
    torch.testing.assert_close(o2, o1, rtol=0, atol=0)
    for a, b in zip(g1, g2, strict=False):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # Same parameters, reference computed without stacks.
    ref_out, _ = _reference(x, kind)
    torch.testing.assert_close(o1, ref_out)
    net.trace(x)
    o3, g3 = _run(net, x)
    torch.testing.assert_close(o3, o1)
    assert len(g3) == len(g1)
    for a, b in zip(g1, g3, strict=False):
        torch.testing.assert_close(a, b)
    # A new batch size is replayed.
    x2 = torch.randn(6, 5, 3, dtype=DT)
    assert net(x2).shape == (6,)

    # Memory after a traced forward.
    for d in net.data_nodes.values():
        assert d.tensor is None
    if "stack_data_memory" in net.virtual_nodes:
        assert net.virtual_nodes["stack_data_memory"].tensor is None
    for c in net.cores:
        assert c.tensor is not None
    out_node = _output_node(net)
    assert out_node.tensor is not None
    info = out_node._tensor_info
    out_owner = out_node if info["address"] is not None else info["node_ref"]
    for node in net.resultant_nodes.values():
        if node is out_owner or node._tensor_info["address"] is None:
            continue
        assert node.tensor is None, node.name


def test_seq_ops_entries_and_args_ignored():
    net = MPSRing()
    x = torch.randn(4, 5, 3, dtype=DT)
    net(x)
    names = [name for name, _ in net._seq_ops]
    assert names[:3] == ["stack", "stack", "contract_edges"]
    assert names[3] == "unbind" and set(names[4:]) == {"contract_edges"}
    name, key = net._seq_ops[0]
    assert key == (tuple(net.cores),)
    for name, key in net._seq_ops:
        assert key in _first_operand(name, key).successors[name]
    called = []
    net.contract = lambda *a, **k: called.append(a)
    out = net(x, "ignored", flag=True)
    assert called == [] and out.shape == (4,)


def test_mode_change_resets():
    net = MPSRing()
    x = torch.randn(4, 5, 3, dtype=DT)
    o1 = net(x).detach()
    assert net.resultant_nodes
    net.auto_unbind = True
    assert not net.resultant_nodes and net._seq_ops == []
    torch.testing.assert_close(net(x).detach(), o1)
    net.auto_stack = False
    assert not net.resultant_nodes
    torch.testing.assert_close(net(x).detach(), o1)


def test_reset_recomputes_and_set_tensor_seen():
    net = MPSRing()
    x = torch.randn(4, 5, 3, dtype=DT)
    o1 = net(x).detach()
    net.trace(x)
    net.reset()
    assert not net.resultant_nodes
    torch.testing.assert_close(net(x).detach(), o1)
    torch.testing.assert_close(net(x).detach(), o1)
    # Changing a leaf's memory after tracing: the next forward sees the new value.
    ref = MPSRing(kind="chain")
    for kind in ("chain", "stacked"):
        net = MPSRing(kind=kind)
        net.auto_stack = False
        net.trace(x)
        net(x)
        core = net.cores[0]
        new = torch.randn(core.shape, dtype=DT)
        core.set_tensor(new)
        ref.cores[0].tensor = new
        torch.testing.assert_close(net(x).detach(), ref(x).detach())


def test_auto_stacked_leaf_is_a_reference():
    net = MPSRing()
    x = torch.randn(4, 5, 3, dtype=DT)
    net.trace(x)
    core = net.cores[0]
    with pytest.raises(ValueError):
        core.set_tensor(torch.randn(core.shape, dtype=DT))
    core.reset_tensor_address()  # layout change: the program is rebuilt
    assert core._tensor_info["address"] == core.name
    assert net(x).shape == (4,)


def test_plain_network_without_data():
    net = tk.TensorNetwork()
    a = tk.Node(
        shape=(2, 3), axes_names=("left", "right"), network=net, init_method="randn", dtype=DT
    )
    b = tk.Node(
        shape=(3, 2), axes_names=("left", "right"), network=net, init_method="randn", dtype=DT
    )
    a["right"] ^ b["left"]
    a["left"] ^ b["right"]
    net.contract = lambda: a @ b
    o1 = net()
    torch.testing.assert_close(o1, torch.einsum("ij,ji->", a.tensor, b.tensor))
    a.tensor = torch.randn(2, 3, dtype=DT)
    torch.testing.assert_close(net(), torch.einsum("ij,ji->", a.tensor, b.tensor))


def test_last_op_multiple_nodes_raises():
    net = tk.TensorNetwork()
    nodes = [
        tk.Node(shape=(2,), axes_names=("x",), network=net, init_method="randn") for _ in range(2)
    ]
    net.contract = lambda: tk.unbind(tk.stack(nodes))[0]
    net()
    with pytest.raises(ValueError):
        net()


class _Mixed(tk.TensorNetwork):
    """Stacks a contraction result (batch-first inside) with a leaf (node layout), unbinds
    through padding crops; or (``trace``) traces a self-loop of a contraction result."""

    def __init__(self, kind):
        super().__init__(name="mixed")
        self.kind = kind
        gen = torch.Generator().manual_seed(3)

        def node(shape, names, name, cls=tk.Node):
            t = torch.randn(shape, dtype=DT, generator=gen)
            return cls(tensor=t, axes_names=names, network=self, name=name)

        self.core = node((2, 3, 2), ("left", "input", "right"), "core", tk.ParamNode)
        if kind == "trace":
            self.core["left"] ^ self.core["right"]
        else:
            self.leaf = node((2, 2, 4), ("left", "right", "batch"), "leaf")
            self.small = node((1, 2, 4), ("left", "right", "batch"), "small")
            self.core["left"] ^ self.leaf["right"]
            self.core["right"] ^ self.leaf["left"]

    def set_data_nodes(self):
        super().set_data_nodes([self.core["input"]], 1)

    def contract(self):
        r = self.core @ self.data_nodes["data"]  # (left, right, batch)
        if self.kind == "trace":
            return r @ r
        u = tk.unbind(tk.stack([r, self.leaf]))
        padded = tk.unbind(tk.stack([u[0], self.small]))  # unequal shapes: crops
        a, b = tk.unbind(tk.stack([padded[0], u[1]]))
        return a @ b


def _mixed_reference(net, x):
    cd = torch.einsum("lir,bi->lrb", net.core.tensor, x[:, 0])
    if net.kind == "trace":
        return torch.einsum("llb->b", cd)
    return torch.einsum("lrb,rlb->b", cd, net.leaf.tensor)


@pytest.mark.parametrize("kind", ["stack", "trace"])
@pytest.mark.parametrize("auto_stack,auto_unbind", MODES)
def test_mixed_layouts_replay(kind, auto_stack, auto_unbind):
    net = _Mixed(kind)
    net.auto_stack, net.auto_unbind = auto_stack, auto_unbind
    x = torch.randn(4, 1, 3, dtype=DT)
    o1, g1 = _run(net, x)
    torch.testing.assert_close(o1, _mixed_reference(net, x).detach())
    o2, g2 = _run(net, x)
    torch.testing.assert_close(o2, o1)
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b)
    net.trace(x)
    o3, g3 = _run(net, x)
    torch.testing.assert_close(o3, o1)
    for a, b in zip(g1, g3, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("auto_stack,auto_unbind", MODES)
def test_shapes_follow_batch_size(auto_stack, auto_unbind):
    net = MPSRing()
    net.auto_stack, net.auto_unbind = auto_stack, auto_unbind
    net.trace(torch.randn(4, 5, 3, dtype=DT))
    net(torch.randn(6, 5, 3, dtype=DT))
    for node in net.resultant_nodes.values():
        if "batch" in node.axes_names:
            assert node.shape[node.axes_names.index("batch")] == 6, node.name
