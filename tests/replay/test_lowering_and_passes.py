"""The replay graph: lowering, each pass against the unoptimised graph, the generated code."""

from __future__ import annotations

import operator

import pytest
import torch
from _nets import DT, Ring, zoo
from _tol import assert_close_elem

from torchtn.core.replay import build_graph, lower
from torchtn.core.replay.passes import drop_noops, fold_permutations, unbind_views


def _run(net, graph, inputs):
    from torch import fx

    gm = fx.GraphModule({k: net._parameters[k] for k in net._parameters}, graph)
    return type(gm).forward(net, *inputs)


def _inputs(net, low):
    return [net._memory_nodes[a] for a in low.inputs]


def _assert_same(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        # Same kernels in other memory layouts (another summation order): equal up to a
        # few roundings per value of a contraction.
        assert_close_elem(a, e, factor=100)


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("name,make", zoo(), ids=[n for n, _ in zoo()])
def test_passes_keep_outputs(name, make, full):
    net, x = make()
    net(x)  # first calls record; memory now holds the data and every resultant
    naive = lower(net, full)
    inputs = _inputs(net, naive)
    expected = _run(net, naive.graph, inputs)
    # Each pass alone, then both (what the replay runs).
    folded = fold_permutations(naive.graph)
    _assert_same(_run(net, folded, inputs), expected)
    unbound = unbind_views(fold_permutations(naive.graph))
    _assert_same(_run(net, unbound, inputs), expected)
    optimised = build_graph(net, full)
    assert optimised.inputs == naive.inputs
    _assert_same(_run(net, optimised.graph, inputs), expected)
    # And the replay through forward agrees with the first call.
    out = net(x)
    _assert_same([out], [expected[0]])


def test_lowering_has_eager_semantics_and_one_call_per_step():
    net = Ring()
    x = torch.randn(4, 5, 3, dtype=DT)
    net(x)
    low = lower(net, full=False)
    calls = [
        n for n in low.graph.nodes if n.op == "call_function" and n.target is not operator.getitem
    ]
    computing = [s for s in net._recording.steps if s._run is not None]
    assert len(calls) == len(computing)
    # Parameters are read through the module, never captured.
    assert [n.target for n in low.graph.nodes if n.op == "get_attr"] == [
        "param_virtual_result_stack"
    ]
    assert low.inputs == ["stack_data_memory"]


def test_chain_becomes_bare_bmm_without_permutes():
    net = Ring(n=6)
    x = torch.randn(4, 6, 3, dtype=DT)
    net.trace(x)
    code = net.replay_code()
    # n - 2 links of the chain are bare batch-first products (the last one closes the ring)
    assert code.count("torch.bmm(") == 4
    assert "permute" not in code.split("torch.bmm(", 1)[1].rsplit("torch.bmm(", 1)[0]
    # The stack of the data slices reads the data memory itself.
    assert "stack_data_memory" in code and "stacking_stack" not in code


def test_permute_step_is_free_in_the_replay():
    net = Ring(kind="permuted")
    x = torch.randn(4, 5, 3, dtype=DT)
    net.trace(x)
    gm = net.replay_module()
    names = [getattr(n.target, "__name__", str(n.target)) for n in gm.graph.nodes]
    assert "permute" not in names and "identity" not in names
    # The same ring contracted with the permutation folded into the next product.
    assert_close_elem(net(x), Ring(kind="permuted")(x), factor=100)


def test_dead_steps_are_dropped_from_the_traced_form_only():
    net = Ring()
    x = torch.randn(4, 5, 3, dtype=DT)
    net.trace(x)
    traced = build_graph(net, full=False)
    full = build_graph(net, full=True)
    assert len(full.written) > 0 and traced.written == []
    assert len(list(traced.graph.nodes)) < len(list(full.graph.nodes))


def test_drop_noops_keeps_partial_slices():
    from torch import fx

    g = fx.Graph()
    x = g.placeholder("x")
    a = g.call_function(operator.getitem, (x, (slice(None), slice(1, None))))
    b = g.call_function(operator.getitem, (x, (slice(0, None), slice(None))))
    g.output((a, b))
    drop_noops(g)
    kept = [n for n in g.nodes if n.op == "call_function"]
    assert len(kept) == 1 and kept[0].args[1] == (slice(None), slice(1, None))


def test_replay_code_and_module_are_inspectable():
    net = Ring()
    x = torch.randn(4, 5, 3, dtype=DT)
    with pytest.raises(ValueError, match="no recorded operations"):
        net.replay_code()
    net(x)
    assert net.replay_code(traced=False) != net.replay_code(traced=True)
    assert isinstance(net.replay_module(), torch.fx.GraphModule)


def test_views_of_one_stack_become_one_unbind():
    # auto_unbind: the chain reads 5 views of the stacked contraction; the replay unbinds
    # it once (whose backward is one stack, not 5 full-size zero tensors).
    net = Ring()
    net.auto_unbind = True
    x = torch.randn(4, 5, 3, dtype=DT)
    net.trace(x)
    code = net.replay_code()
    assert code.count(".unbind(") == 1
    reference = Ring()
    reference.auto_unbind = False
    out, ref = net(x), reference(x)
    # The same products read from one unbind instead of separate views.
    assert_close_elem(out, ref, factor=100)
    grads = torch.autograd.grad(out.sum(), list(net.parameters()))
    want = torch.autograd.grad(ref.sum(), list(reference.parameters()))
    for a, b in zip(grads, want, strict=True):
        assert_close_elem(a, b, factor=100)
