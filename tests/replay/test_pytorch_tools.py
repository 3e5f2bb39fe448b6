"""A traced network is an ordinary PyTorch program: pickling, torch.func, load_state_dict,
torch.compile and torch.export all work on it."""

from __future__ import annotations

import copy
import io
import os
import pickle
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp
from _nets import DT, Ring
from _tol import assert_close_elem
from torch.func import functional_call, grad, vmap

import torchtn as tk

STATES = ["fresh", "forward", "backward", "traced", "traced_forward", "traced_backward"]


def _close(actual: torch.Tensor, expected: torch.Tensor, what: str = "") -> None:
    """The same network through another PyTorch tool (functional_call, vmap, compile,
    export): the same contractions, perhaps fused or in another order, so equal up to a
    contraction's rounding."""
    try:
        assert_close_elem(actual, expected, factor=100)
    except AssertionError as err:
        raise AssertionError(f"{what}: {err}" if what else str(err)) from None


def _layer():
    return tk.models.MPSLayer(
        n_features=8, in_dim=3, out_dim=4, bond_dim=4, init_method="randn_eye", std=0.1, dtype=DT
    )


def _in_state(state: str, make=_layer, x=None):
    model = make()
    x = torch.rand(6, 7, 3, dtype=DT) if x is None else x
    if state.startswith("traced"):
        model.trace(x)
    if state.endswith("forward"):
        model(x)
    if state.endswith("backward"):
        model(x).sum().backward()
    return model, x


def _save_load(model):
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "torch.save"])
@pytest.mark.parametrize("state", STATES)
def test_copies_in_every_state_give_identical_outputs(state, how):
    model, x = _in_state(state)
    copy_ = {
        "pickle": lambda m: pickle.loads(pickle.dumps(m)),
        "deepcopy": copy.deepcopy,
        "torch.save": _save_load,
    }[how](model)
    out = copy_(x)
    assert torch.equal(out, model(x))
    # Gradients flow into the copy's own parameters.
    out.sum().backward()
    assert all(p.grad is not None for p in copy_.parameters())
    assert {k for k, _ in copy_.named_parameters()} == {k for k, _ in model.named_parameters()}


def test_ring_network_pickles_after_backward():
    net = Ring()
    x = torch.randn(4, 5, 3, dtype=DT)
    net.trace(x)
    net(x).sum().backward()
    again = pickle.loads(pickle.dumps(net))
    assert torch.equal(again(x), net(x))


def test_mp_spawn_receives_a_traced_model(tmp_path):
    from _workers import forward_to_file

    model, x = _in_state("traced_backward")
    path = os.fspath(tmp_path / "out.pt")
    mp.spawn(forward_to_file, args=(model, x, path), nprocs=1, join=True)
    assert torch.equal(torch.load(path), model(x))


@pytest.mark.parametrize("state", ["forward", "traced"])
def test_functional_call_uses_the_given_parameters(state):
    model, x = _in_state(state)
    before = model(x).detach()
    params = {k: p.detach() * 1.5 for k, p in model.named_parameters()}
    out = functional_call(model, params, (x,))
    other = copy.deepcopy(model)
    with torch.no_grad():
        for k, p in other.named_parameters():
            p.copy_(params[k])
    _close(out, other(x))
    # The model itself is untouched.
    assert torch.equal(model(x), before)


@pytest.mark.parametrize("state", ["forward", "traced"])
def test_torch_func_grad_equals_autograd(state):
    model, x = _in_state(state)
    params = dict(model.named_parameters())
    grads = grad(lambda p: functional_call(model, p, (x,)).square().sum())(params)
    model.zero_grad()
    model(x).square().sum().backward()
    for k, p in model.named_parameters():
        assert grads[k].abs().sum() > 0
        _close(grads[k], p.grad)


def test_vmap_over_parameter_sets():
    model, x = _in_state("traced")
    base = {k: p.detach() for k, p in model.named_parameters()}
    scales = torch.tensor([1.0, 0.5, 2.0], dtype=DT)
    stacked = {k: torch.stack([v * s for s in scales]) for k, v in base.items()}
    outs = vmap(lambda p: functional_call(model, p, (x,)))(stacked)
    for i, s in enumerate(scales):
        expected = functional_call(model, {k: v * s for k, v in base.items()}, (x,))
        _close(outs[i], expected)


@pytest.mark.parametrize("state", ["forward", "traced"])
def test_load_state_dict_assign_and_parameter_swap(state):
    model, x = _in_state(state)
    source = _in_state(state)[0]
    sd = {k: v.detach().clone() + 0.01 for k, v in source.state_dict().items()}
    model.load_state_dict(sd, assign=True)
    reference = _in_state(state)[0]
    reference.load_state_dict(sd)
    _close(model(x), reference(x))
    # Node tensors are the assigned parameters.
    name = next(iter(sd))
    node = model[name.removeprefix("param_")]
    assert node.tensor is getattr(model, name)
    # Swapping one parameter through the module is seen by the next forward.
    setattr(model, name, torch.nn.Parameter(torch.zeros_like(sd[name])))
    with torch.no_grad():
        getattr(reference, name).zero_()
    _close(model(x), reference(x))


def test_forward_under_transforms_does_not_write_the_network():
    model, x = _in_state("traced")
    memory = dict(model._memory_nodes)
    grad(lambda p: functional_call(model, p, (x,)).sum())(dict(model.named_parameters()))
    assert all(model._memory_nodes[k] is v for k, v in memory.items())


def test_fresh_network_asks_to_record_first():
    # The first call records the contraction (and auto_stack may replace parameters by
    # stacks): it cannot happen inside functional_call or a transform.
    model = _layer()
    x = torch.rand(6, 7, 3, dtype=DT)
    params = {k: p.detach() * 2 for k, p in model.named_parameters()}
    with pytest.raises(ValueError, match="trace"):
        functional_call(model, params, (x,))
    with pytest.raises(ValueError, match="trace"):
        grad(lambda p: functional_call(model, p, (x,)).sum())(dict(model.named_parameters()))
    assert not model.resultant_nodes
    model.trace(x)
    params = {k: p.detach() * 2 for k, p in model.named_parameters()}
    functional_call(model, params, (x,))


# -- torch.compile --------------------------------------------------------------------------
def test_compile_matches_eager_and_recompiles_boundedly():
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    counter = CompileCounter()
    net = Ring(n=6)
    x = torch.randn(4, 6, 3, dtype=DT)
    net.trace(x)
    eager = Ring(n=6)
    eager.trace(x)
    net.compile(backend=counter)
    for batch in (4, 4, 7, 7, 9, 9, 3):
        xb = torch.randn(batch, 6, 3, dtype=DT)
        out = net(xb)
        ref = eager(xb)
        _close(out, ref)
        out.square().sum().backward()
        ref.square().sum().backward()
    for a, b in zip(net.cores, eager.cores, strict=True):
        _close(a.grad, b.grad)
    assert 1 <= counter.frame_count <= 2  # static shapes once, then dynamic


def _compiled_layer_graph_size(n_features: int) -> int:
    from torch._dynamo.testing import CompileCounterWithBackend

    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")
    model = tk.models.MPSLayer(
        n_features=n_features,
        in_dim=3,
        out_dim=4,
        bond_dim=4,
        init_method="randn_eye",
        std=0.1,
        dtype=DT,
    )
    x = torch.rand(6, n_features - 1, 3, dtype=DT)
    model.trace(x)
    eager = copy.deepcopy(model)
    model.compile(backend=counter)
    for batch in (6, 6, 9, 9):
        xb = torch.rand(batch, n_features - 1, 3, dtype=DT)
        out, ref = model(xb), eager(xb)
        _close(out, ref)
        out.square().sum().backward()
        ref.square().sum().backward()
    for (k, a), (_, b) in zip(model.named_parameters(), eager.named_parameters(), strict=True):
        _close(a.grad, b.grad, k)
    return sum(len(g.graph.nodes) for g in counter.graphs)


def test_compiled_mps_layer_matches_eager_without_unrolling():
    # The end-region sweeps stay single calls (or log-depth trees): the compiled graphs
    # do not grow with the number of sites.
    small, large = _compiled_layer_graph_size(40), _compiled_layer_graph_size(160)
    assert large <= small * 1.25


def test_compile_default_backend_runs():
    torch._dynamo.reset()
    net = Ring(n=3)
    x = torch.randn(2, 3, 3, dtype=DT)
    net.trace(x)
    ref = net(x)
    net.compile()
    net(x)
    _close(net(x), ref)


# -- torch.export ---------------------------------------------------------------------------
_RUN_WITHOUT_TORCHTN = """
import sys
sys.modules["torchtn"] = None  # importing torchtn now fails: the program must not need it
import torch
program = torch.export.load(sys.argv[1])
x = torch.load(sys.argv[2])
torch.save(program.module()(x), sys.argv[3])
"""


@pytest.mark.parametrize("kind", ["ring", "mps_layer"])
def test_export_with_dynamic_batch_runs_without_torchtn(kind, tmp_path):
    from torch.export import Dim, export

    if kind == "ring":
        model, x = Ring(n=5), torch.randn(4, 5, 3, dtype=DT)
    else:
        model, x = _layer(), torch.rand(6, 7, 3, dtype=DT)
    model.trace(x)
    program = export(model, (x,), dynamic_shapes={"data": {0: Dim("batch", min=2)}})
    assert {k for k, _ in program.named_parameters()} == {k for k, _ in model.named_parameters()}
    other = torch.rand(9, *x.shape[1:], dtype=DT)
    _close(program.module()(other), model(other))
    # Deployed: saved, loaded and run in a process where torchtn cannot be imported.
    paths = [os.fspath(tmp_path / n) for n in ("model.pt2", "x.pt", "out.pt")]
    torch.export.save(program, paths[0])
    torch.save(other, paths[1])
    subprocess.run([sys.executable, "-c", _RUN_WITHOUT_TORCHTN, *paths], check=True)
    _close(torch.load(paths[2]), model(other))
