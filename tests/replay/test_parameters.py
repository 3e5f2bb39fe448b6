"""Training workflows keep their parameters: trace, re-trace, canonicalize, optimizers, DDP."""

from __future__ import annotations

import os
import time
import warnings

import pytest
import torch
import torch.multiprocessing as mp
from _nets import DT, ddp_case
from _tol import assert_close_rel

import torchtn as tk


def _layer(**kwargs):
    torch.manual_seed(0)
    kw = dict(n_features=8, in_dim=3, out_dim=4, bond_dim=4, init_method="randn_eye", std=0.1)
    kw.update(kwargs)
    return tk.models.MPSLayer(**kw, dtype=DT)


def _step(model, opt, x):
    opt.zero_grad()
    model(x).square().sum().backward()
    opt.step()


def test_retrace_keeps_every_parameter_object():
    model = _layer()
    x = torch.rand(5, 7, 3, dtype=DT)
    model.trace(x)
    params = dict(model.named_parameters())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing replaced: no warning
        model.trace(torch.rand(3, 7, 3, dtype=DT))
        model.reset()
        model(x)
    assert dict(model.named_parameters()) == params
    before = {k: p.detach().clone() for k, p in params.items()}
    _step(model, opt, x)
    assert all(not torch.equal(before[k], p) for k, p in model.named_parameters())


def test_reset_gives_members_their_own_parameters_back():
    model = _layer()
    own = dict(model.named_parameters())
    x = torch.rand(5, 7, 3, dtype=DT)
    model.trace(x)
    stacked = {k: p.detach().clone() for k, p in model.named_parameters()}
    model.reset()
    assert dict(model.named_parameters()) == own  # the same objects, stack values copied in
    for p in own.values():
        assert p.is_leaf and p.requires_grad
    assert any(k.startswith("param_virtual_result_stack") for k in stacked)


def test_optimizer_made_before_trace_warns_at_its_step_and_rebind_fixes_it():
    model = _layer()
    x = torch.rand(5, 7, 3, dtype=DT)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.trace(x)  # auto_stack replaces the cores' parameters by stacks
    held = {id(p) for g in opt.param_groups for p in g["params"]}
    current = list(model.parameters())
    assert not all(id(p) in held for p in current)  # the optimizer misses the stacks
    with pytest.warns(UserWarning, match=r"rebind_optimizer"):
        _step(model, opt, x)
    model.rebind_optimizer(opt)
    held = [p for g in opt.param_groups for p in g["params"]]
    assert {id(p) for p in held} == {id(p) for p in current} and len(held) == len(current)
    before = [p.detach().clone() for p in current]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing stale any more
        _step(model, opt, x)
    assert all(not torch.equal(b, p) for b, p in zip(before, current, strict=True))


def test_counting_parameters_before_trace_warns_nothing():
    model = _layer()
    n = sum(p.numel() for p in model.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.trace(torch.rand(5, 7, 3, dtype=DT))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        _step(model, opt, torch.rand(5, 7, 3, dtype=DT))
    assert n > 0


def test_canonicalize_keeps_unchanged_shapes_and_rebinds_truncated_ones():
    model = _layer(bond_dim=[3, 3, 4, 4, 3, 3, 3])
    model.auto_stack = False  # every node trains its own parameter
    x = torch.rand(5, 7, 3, dtype=DT)
    own = dict(model.named_parameters())
    shapes = {k: p.shape for k, p in own.items()}
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    _step(model, opt, x)
    model.canonicalize(rank=3)  # the two bonds of 4 shrink to 3, the others stay
    after = dict(model.named_parameters())
    kept = [k for k in after if k in own and after[k] is own[k]]
    changed = [k for k in after if k not in own or after[k].shape != shapes[k]]
    assert changed and kept  # some bonds truncated, the rest kept their objects
    assert all(after[k].shape == shapes[k] for k in kept)
    with pytest.warns(UserWarning, match="canonicalize"):  # the old optimizer steps stale ones
        _step(model, opt, x)
    model.rebind_optimizer(opt)
    held = {id(p) for g in opt.param_groups for p in g["params"]}
    assert held == {id(p) for p in after.values()}
    for k in kept:  # the kept parameter objects keep their optimizer state
        assert after[k] in opt.state
    for k in changed:
        assert after[k] not in opt.state
    before = {k: p.detach().clone() for k, p in after.items()}
    _step(model, opt, x)
    assert all(not torch.equal(before[k], p) for k, p in model.named_parameters())


def test_failed_first_call_leaves_the_network_unrecorded():
    model = _layer()
    with pytest.raises(ValueError):
        model(torch.rand(5, 7, 2, dtype=DT))  # features of size 2 for cores of in_dim 3
    assert not model.resultant_nodes and not model._seq_ops
    assert model(torch.rand(5, 7, 3, dtype=DT)).shape == (5, 4)


# -- DistributedDataParallel -------------------------------------------------------------------
def _single_process_reference(steps: int) -> dict:
    model, batches, example = ddp_case()
    model.trace(example)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in batches[:steps]:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.state_dict()


def _ddp(tmp_path, pattern: str, steps: int = 3):
    from _workers import ddp_train

    init = "file://" + os.fspath(tmp_path / "rendezvous")
    path = os.fspath(tmp_path / "result.pt")
    context = mp.start_processes(
        ddp_train, args=(2, init, pattern, steps, path), nprocs=2, join=False
    )
    deadline = time.monotonic() + 300  # a hang fails the test instead of the whole run
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the DDP worker processes did not finish within 300 s")
    return torch.load(path)


def test_ddp_trace_then_wrap_matches_one_process(tmp_path):
    result = _ddp(tmp_path, "trace_then_wrap")
    reference = _single_process_reference(3)
    assert result.keys() == reference.keys()
    # Two ranks average the gradients of half batches, one process takes the mean over the
    # whole batch: the same sums in another order, over 3 SGD steps of (contraction, loss,
    # backward), each moving the parameters by rounding relative to their size.
    for k, v in reference.items():
        assert_close_rel(result[k], v, factor=300)


def test_ddp_wrapped_before_trace_raises_clearly(tmp_path):
    result = _ddp(tmp_path, "wrap_then_trace")
    assert "trace()" in result["error"] and "DistributedDataParallel" in result["error"]
