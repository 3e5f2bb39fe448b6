"""contract_network / contraction_plan: random networks against one torch.einsum (float64),
gradients, replay, slicing, optimisers, models (PEPS, Tree, MPSLayer) and bad input."""

from __future__ import annotations

import copy
import pickle
import string

import opt_einsum
import pytest
import torch
from _tol import assert_close_rel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import torchtn as tk
from torchtn.ops.network_contraction import NetworkContractionKernel
from torchtn.planning import network as planning_network


def _close(actual, expected, abs_contraction=None):
    """A contraction of up to 20 small tensors against one einsum (float64).

    Each entry is a sum of products whose rounding is bounded by a few eps per operation
    times the same sum over the absolute values, ``abs_contraction`` (the einsum of
    ``|x|``): cancellation can make ``expected`` itself much smaller than that. Without
    it, the error is relative to ``expected``'s norm.
    """
    scale = None if abs_contraction is None else abs_contraction.norm().item()
    assert_close_rel(actual, expected, factor=300, scale=scale)


# -- random networks --------------------------------------------------------------------------
@st.composite
def networks(draw, min_nodes=2, max_nodes=12):
    """A connected random network spec: nodes, bonds (no hyperedges), open axes, batch."""
    n = draw(st.integers(min_nodes, max_nodes))
    bonds = [(i, draw(st.integers(0, i - 1))) for i in range(1, n)]  # spanning tree
    extra = draw(st.integers(0, n))
    for _ in range(extra):
        a = draw(st.integers(0, n - 1))
        b = draw(st.integers(0, n - 1))
        if a != b:
            bonds.append((a, b))
    sizes = [draw(st.integers(1, 3)) for _ in bonds]
    opens = [draw(st.integers(0, 1)) for _ in range(n)]
    open_sizes = [draw(st.integers(1, 3)) for _ in range(n)]
    batch = draw(st.booleans())
    batch_nodes = [draw(st.booleans()) for _ in range(n)] if batch else [False] * n
    if batch and not any(batch_nodes):
        batch_nodes[0] = True
    return n, bonds, sizes, opens, open_sizes, batch_nodes, draw(st.integers(1, 3))


def _build(spec, param=False):
    """The network, its nodes, the einsum equation and the operand tensors (float64)."""
    n, bonds, sizes, opens, open_sizes, batch_nodes, batch_size = spec
    axes = [[] for _ in range(n)]  # (name, size, label)
    symbols = iter(opt_einsum.get_symbol(i) for i in range(10_000))
    for k, ((a, b), size) in enumerate(zip(bonds, sizes, strict=True)):
        label = next(symbols)
        axes[a].append((f"b{k}", size, label))
        axes[b].append((f"b{k}", size, label))
    batch_label = next(symbols)
    out_batch, out_free = [], []
    for i in range(n):
        if opens[i]:
            label = next(symbols)
            axes[i].append((f"o{i}", open_sizes[i], label))
            out_free.append(label)
        if batch_nodes[i]:
            axes[i].insert(0, ("batch", batch_size, batch_label))
            if batch_label not in out_batch:
                out_batch.append(batch_label)
    net = tk.TensorNetwork()
    nodes, tensors, terms = [], [], []
    for i in range(n):
        shape = tuple(s for _, s, _ in axes[i])
        t = torch.randn(shape, dtype=torch.float64)
        node_cls = tk.ParamNode if param else tk.Node
        nodes.append(
            node_cls(tensor=t, axes_names=[a for a, _, _ in axes[i]], name=f"n{i}", network=net)
        )
        tensors.append(t)
        terms.append("".join(label for _, _, label in axes[i]))
    for k, (a, b) in enumerate(bonds):
        nodes[a][f"b{k}"] ^ nodes[b][f"b{k}"]
    equation = ",".join(terms) + "->" + "".join(out_batch + out_free)
    return net, nodes, equation, tensors


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=networks())
def test_random_networks_match_one_einsum(spec):
    net, nodes, equation, tensors = _build(spec)
    expected = torch.einsum(equation, *tensors)
    abs_ref = torch.einsum(equation, *[t.abs() for t in tensors])
    result = tk.contract_network(nodes)
    assert result.shape == expected.shape
    _close(result.tensor, expected, abs_ref)
    # The whole network (its leaves) is the same set here.
    net.reset()
    _close(net().reshape(expected.shape), expected, abs_ref)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=networks(min_nodes=13, max_nodes=20))
def test_random_large_networks_match_one_einsum(spec):
    # Beyond 12 tensors 'auto' combines greedy searches, pendant absorption and
    # subtree reconfiguration (and cotengra when installed).
    net, nodes, equation, tensors = _build(spec)
    expected = torch.einsum(equation, *tensors)
    abs_ref = torch.einsum(equation, *[t.abs() for t in tensors])
    plan = tk.contraction_plan(nodes)
    assert plan.optimizer != "dp"
    assert plan.flops <= tk.contraction_plan(nodes, optimize="greedy").flops
    _close(tk.contract_network(nodes).tensor, expected, abs_ref)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=networks(min_nodes=3, max_nodes=8), limit_frac=st.floats(0.0, 1.0))
def test_random_networks_sliced_match_one_einsum(spec, limit_frac):
    net, nodes, equation, tensors = _build(spec)
    free = tk.contraction_plan(nodes)
    out_size = max(1, int(torch.Size(free.output_shape).numel()))
    limit = max(out_size, int(free.largest_intermediate * limit_frac))
    try:
        plan = tk.contraction_plan(nodes, memory_limit=limit)
    except ValueError:  # only output labels left to shrink: nothing to slice
        return
    assert plan.largest_intermediate <= limit
    assert plan.n_slices >= 1
    expected = torch.einsum(equation, *tensors)
    abs_ref = torch.einsum(equation, *[t.abs() for t in tensors])
    _close(tk.contract_network(nodes, memory_limit=limit).tensor, expected, abs_ref)


def test_gradcheck_small_network_plain_and_sliced():
    torch.manual_seed(1)
    equation = "abx,bcx,cay->xy"
    shapes = [(2, 3, 2), (3, 2, 2), (2, 2, 3)]
    tensors = [torch.randn(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for limit in (None, 6):
        kernel = NetworkContractionKernel(equation, memory_limit=limit)
        assert torch.autograd.gradcheck(kernel, tensors)
    assert kernel.plan(shapes).sliced  # the second one did slice


def test_gradients_through_nodes_match_einsum():
    spec = (4, [(1, 0), (2, 1), (3, 2), (3, 0), (2, 0)], [2, 3, 2, 3, 2], [1, 0, 1, 0],
            [2, 1, 3, 1], [True, False, True, True], 3)  # fmt: skip
    net, nodes, equation, tensors = _build(spec, param=True)
    out = tk.contract_network(nodes).tensor
    weights = torch.randn(out.shape, dtype=torch.float64)
    (out * weights).sum().backward()
    leaves = [t.detach().requires_grad_() for t in tensors]
    (torch.einsum(equation, *leaves) * weights).sum().backward()
    for node, ref in zip(nodes, leaves, strict=True):
        _close(node.tensor.grad, ref.grad)


# -- operation semantics ----------------------------------------------------------------------
def _chain(n=4, bond=3, batch=True):
    net = tk.TensorNetwork()
    mats = [
        tk.randn((bond, 2, bond), axes_names=("left", "input", "right"), name="mat",
                 network=net, param_node=True)
        for _ in range(n)
    ]  # fmt: skip
    for a, b in zip(mats, mats[1:], strict=False):
        a["right"] ^ b["left"]
    if batch:
        net.set_data_nodes([m["input"] for m in mats], 1)
    return net, mats


def _chain_reference(mats, x):
    ts = [m.tensor for m in mats]
    letters = string.ascii_lowercase
    terms, data_terms = [], []
    for k in range(len(ts)):
        terms.append(letters[k] + letters[10 + k] + letters[k + 1])
        data_terms.append("Z" + letters[10 + k])
    out = "Z" + letters[0] + letters[len(ts)]
    eq = ",".join(terms + data_terms) + "->" + out
    return torch.einsum(eq, *ts, *[x[:, k] for k in range(len(ts))])


def test_data_nodes_forward_replay_and_new_batch_size():
    net, mats = _chain()
    x = torch.randn(5, 4, 2)
    first = net(x)
    assert first.shape == (5, 3, 3)  # batch first, then the open bonds in node order
    assert [op for op, _ in net._seq_ops] == ["contract_network"]
    torch.testing.assert_close(first, _chain_reference(mats, x))
    x2 = torch.randn(7, 4, 2)
    torch.testing.assert_close(net(x2), _chain_reference(mats, x2))  # replayed, new plan
    assert len(net._seq_ops) == 1
    net.trace(x)
    torch.testing.assert_close(net(x2), _chain_reference(mats, x2))


def test_repeated_call_reuses_the_node_and_recomputes():
    net, mats = _chain(batch=False)
    r1 = tk.contract_network(mats)
    mats[0].tensor = torch.randn(3, 2, 3)
    r2 = tk.contract_network(mats)
    assert r1 is r2
    assert len(net._seq_ops) == 1
    ref = torch.einsum("aib,bjc,ckd,dle->aijkle", *[m.tensor for m in mats])
    torch.testing.assert_close(r2.tensor, ref)
    assert r2.axes_names[0] == "left" and r2.axes_names[-1] == "right"
    # Other options are another operation.
    r3 = tk.contract_network(mats, optimize="greedy")
    assert r3 is not r1 and len(net._seq_ops) == 2


def test_result_keeps_edges_to_outside_nodes():
    net, mats = _chain(batch=False)
    result = tk.contract_network(mats[:2])
    assert result["right"] is mats[1]["right"]
    assert result["right"].is_attached_to(mats[2])
    rest = result @ mats[2]
    ref = torch.einsum("aib,bjc,ckd->aijkd", *[m.tensor for m in mats[:3]])
    torch.testing.assert_close(rest.tensor, ref)


def test_resultants_contract_with_their_operands_neighbours():
    net, mats = _chain(n=4, batch=False)
    ab = tk.contract_network(mats[:2])
    rest = tk.contract_network([ab, mats[2], mats[3]])
    ref = torch.einsum("aib,bjc,ckd,dle->aijkle", *[m.tensor for m in mats])
    torch.testing.assert_close(rest.tensor, ref)
    with pytest.raises(ValueError, match="resultant node or the nodes it was computed from"):
        tk.contract_network([ab, mats[0], mats[2]])


def test_self_loop_is_a_trace():
    net = tk.TensorNetwork()
    a = tk.randn((3, 2, 3), axes_names=("left", "input", "right"), network=net, name="a")
    b = tk.randn((2, 4), axes_names=("left", "right"), network=net, name="b")
    a["right"] ^ a["left"]
    a["input"] ^ b["left"]
    ref = torch.einsum("aia,ij->j", a.tensor, b.tensor)
    torch.testing.assert_close(tk.contract_network([a, b]).tensor, ref)


def test_stack_nodes_contract_to_a_stack():
    net, mats = _chain(n=3, batch=False)
    other = [
        tk.randn((3, 2), axes_names=("left", "right"), network=net, name="v") for _ in range(3)
    ]
    for m, v in zip(mats, other, strict=True):
        m["input"] ^ v["right"]
    s1, s2 = tk.stack(mats), tk.stack(other)
    s1["input"] ^ s2["right"]
    assert s1.is_virtual()  # stacks of ParamNodes are virtual ParamStackNodes, as in TK
    result = tk.contract_network([s1, s2])
    assert isinstance(result, tk.StackNode)
    ref = torch.einsum("saib,sci->sabc", s1.tensor, s2.tensor)
    torch.testing.assert_close(result.tensor, ref)


def test_traced_network_with_the_default_contract_copies_and_pickles():
    net, mats = _chain(n=3)
    x = torch.rand(5, 3, 2)
    net.trace(x)
    expected = net(x)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        torch.testing.assert_close(clone(x), expected)


def test_kernel_pickles_and_runs():
    kernel = NetworkContractionKernel("ab,bc->ac", optimize="greedy", memory_limit=None)
    copy = pickle.loads(pickle.dumps(kernel))
    a, b = torch.randn(2, 3), torch.randn(3, 4)
    torch.testing.assert_close(copy(a, b), a @ b)
    assert "greedy" in repr(copy)


@pytest.mark.parametrize(
    "optimize", ["auto", "optimal", "dp", "greedy", "branch-2", "random-greedy", "explicit"]
)
def test_every_optimizer_gives_the_same_result(optimize):
    net, mats = _chain(n=5, batch=False)
    if optimize == "explicit":
        optimize = [(0, 1), (0, 3), (0, 2), (0, 1)]
    ref = torch.einsum("aib,bjc,ckd,dle,emf->aijklmf", *[m.tensor for m in mats])
    torch.testing.assert_close(tk.contract_network(mats, optimize=optimize).tensor, ref)


def test_contraction_plan_is_printable_and_names_nodes():
    net, mats = _chain(n=3, bond=4)
    net.add_data(torch.randn(6, 3, 2))
    plan = tk.contraction_plan(net)
    text = str(plan)
    assert "mat_0" in text and "data_2" in text and "flops" in text
    assert plan.output_shape == (6, 4, 4)
    assert len(plan.path) == len(plan.inputs) - 1
    assert plan.order[0][0] in {n.name for n in net.nodes.values()}
    assert plan.flops <= plan.naive_flops
    assert plan.largest_intermediate >= 6 * 4 * 4
    assert repr(plan).startswith("ContractionPlan(6 tensors")
    # Nothing was contracted or recorded.
    assert not net.resultant_nodes and not net._seq_ops


def test_memory_limit_slices_and_matches():
    net = tk.TensorNetwork()
    mats = [
        tk.randn((6, 2, 6), axes_names=("left", "input", "right"), network=net, name="m")
        for _ in range(4)
    ]
    for k in range(4):
        mats[k]["right"] ^ mats[(k + 1) % 4]["left"]
        mats[k]["input"] ^ tk.randn((2,), axes_names=("x",), network=net, name="v")["x"]
    nodes = list(net.leaf_nodes.values())
    ref = torch.einsum(
        "aib,bjc,ckd,dla,i,j,k,l->", *[n.tensor for n in mats], *[n.tensor for n in nodes[4:]]
    )
    full = tk.contraction_plan(nodes)
    assert full.largest_intermediate == 36 and not full.sliced
    plan = tk.contraction_plan(nodes, memory_limit=6)
    assert plan.sliced and plan.largest_intermediate <= 6
    assert plan.n_slices == 6 ** len(plan.sliced)
    assert plan.flops >= full.flops
    assert "sliced" in str(plan)
    torch.testing.assert_close(tk.contract_network(nodes, memory_limit=6).tensor, ref)


# -- bad input --------------------------------------------------------------------------------
def test_bad_input(unchanged):
    net, mats = _chain(n=3, batch=False)
    other, omats = _chain(n=2, batch=False)
    with unchanged(net):
        with pytest.raises(ValueError, match="empty"):
            tk.contract_network([])
        with pytest.raises(TypeError, match="TensorNetwork or a sequence"):
            tk.contract_network(mats[0])
        with pytest.raises(TypeError, match=r"nodes_or_network\[1\]"):
            tk.contract_network([mats[0], "b"])
        with pytest.raises(ValueError, match="same network"):
            tk.contract_network([mats[0], omats[0]])
        with pytest.raises(ValueError, match="given twice"):
            tk.contract_network([mats[0], mats[0]])
        with pytest.raises(ValueError, match="unknown `optimize` 'fastest'"):
            tk.contract_network(mats, optimize="fastest")
        with pytest.raises(ValueError, match="invalid path step"):
            tk.contract_network(mats, optimize=[(0, 5), (0, 1)])
        with pytest.raises(ValueError, match="memory_limit"):
            tk.contract_network(mats, memory_limit=0)
        with pytest.raises(TypeError, match="memory_limit"):
            tk.contract_network(mats, memory_limit=2.5)
        with pytest.raises(ValueError, match="output alone"):
            tk.contract_network(mats, memory_limit=10)
        with pytest.raises(TypeError, match="hashable"):
            tk.contract_network(mats, optimize={"a": 1})
    s = tk.stack(mats)
    with pytest.raises(TypeError, match="stack nodes with non-stack"):
        tk.contract_network([s, mats[0]])
    empty = tk.Node(shape=(3,), axes_names=("x",), network=tk.TensorNetwork(), name="e")
    with pytest.raises(ValueError, match="no tensor"):
        tk.contract_network([empty])


def test_cotengra_missing(monkeypatch):
    monkeypatch.setattr(planning_network, "cotengra_available", lambda: False)
    net, mats = _chain(n=3, batch=False)
    with pytest.raises(ValueError, match=r"torchtn\[cotengra\]"):
        tk.contract_network(mats, optimize="cotengra")
    # 'auto' beyond 12 tensors: greedy or seeded random-greedy, without cotengra.
    big, bmats = _chain(n=8, bond=2)
    big.add_data(torch.randn(3, 8, 2))
    planning_network.clear_network_cache()
    plan = tk.contraction_plan(big)
    assert "cotengra" not in plan.optimizer
    ref = tk.contract_network(big).tensor
    torch.testing.assert_close(ref, _chain_reference(bmats, big_data(big)))


def big_data(net):
    return net._virtual_nodes["stack_data_memory"].tensor.movedim(0, 1)


def test_cotengra_paths_when_installed():
    pytest.importorskip("cotengra")
    planning_network.clear_network_cache()
    net, mats = _chain(n=8, bond=2)
    net.add_data(torch.randn(3, 8, 2))
    ref = _chain_reference(mats, big_data(net))
    result = tk.contract_network(net, optimize="cotengra")
    torch.testing.assert_close(result.tensor, ref)
    assert tk.contraction_plan(net, optimize="cotengra").optimizer == "cotengra"
    assert tk.contraction_plan(net).optimizer  # auto: the cheapest candidate, any


# -- models -----------------------------------------------------------------------------------
def _randomize(net, scale=1.0):
    for node in net.leaf_nodes.values():
        t = torch.randn(node.shape, dtype=torch.float64) * scale
        t[(0,) * t.dim()] += 1.0
        node.tensor = t


def test_peps_6x6_matches_the_models_contraction():
    torch.manual_seed(2)
    peps = tk.models.PEPS(6, 6, 2, [2, 2])
    peps.to(torch.float64)
    _randomize(peps, 0.3)
    x = torch.rand(3, 36, 2, dtype=torch.float64)
    expected = peps(x, max_bond=4096)  # exact (no truncation)
    peps.reset()
    auto = tk.TensorNetwork.contract(peps).tensor
    assert_close_rel(auto, expected, factor=300)


def test_tree_8_levels_matches_the_models_contraction():
    torch.manual_seed(3)
    layers = [128, 64, 32, 16, 8, 4, 2, 1]
    tree = tk.models.Tree(layers, [[2, 2, 2]] * 7 + [[2, 2, 3]])
    tree.to(torch.float64)
    _randomize(tree, 0.2)
    x = torch.rand(4, 256, 2, dtype=torch.float64)
    expected = tree(x)
    tree.reset()
    auto = tk.TensorNetwork.contract(tree).tensor
    assert auto.shape == expected.shape == (4, 3)
    assert_close_rel(auto, expected, factor=300)


def test_mps_layer_matches_the_models_contraction():
    torch.manual_seed(4)
    mps = tk.models.MPSLayer(n_features=6, in_dim=2, out_dim=3, bond_dim=4)
    mps.to(torch.float64)
    _randomize(mps, 0.3)
    x = torch.rand(5, 5, 2, dtype=torch.float64)
    expected = mps(x)
    mps.reset()
    auto = tk.TensorNetwork.contract(mps).tensor
    assert_close_rel(auto, expected, factor=300)
