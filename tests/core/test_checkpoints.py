"""state_dicts load in either mode (untraced / traced), from torchtn or TensorKrowch 1.1.6,
and rebuild a model truncated by canonicalize without its bond list."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from _tol import assert_close_elem

import torchtn as tk

DT = torch.float64
TK_FILE = Path(__file__).parent.parent / "data" / "tk_1_1_6_checkpoints.pth"


def _tk_models():
    def peps():
        return tk.models.PEPS(3, 3, 2, [2, 2]).to(DT)

    def tree():
        return tk.models.Tree([4, 2, 1], [[3, 3, 2], [2, 2, 2], [2, 2, 5]]).to(DT)

    kw = dict(init_method="randn_eye", std=0.1, dtype=DT)
    return {
        "mps_layer": lambda: tk.models.MPSLayer(
            n_features=6, in_dim=3, out_dim=4, bond_dim=4, **kw
        ),
        "mps": lambda: tk.models.MPS(n_features=5, phys_dim=2, bond_dim=3, **kw),
        "mps_pbc": lambda: tk.models.MPS(
            n_features=5, phys_dim=2, bond_dim=3, boundary="pbc", **kw
        ),
        "umps": lambda: tk.models.UMPS(n_features=5, phys_dim=2, bond_dim=3, **kw),
        "peps": peps,
        "tree": tree,
    }


@pytest.mark.parametrize("target", ["untraced", "traced"])
@pytest.mark.parametrize("saved", ["untraced", "traced"])
@pytest.mark.parametrize("name", list(_tk_models()))
def test_tensorkrowch_checkpoints_load_in_either_mode(name, saved, target):
    case = torch.load(TK_FILE, weights_only=False)[name]
    model = _tk_models()[name]()
    x = case["x"]
    if target == "traced":
        model.trace(x)
    model.load_state_dict(case[saved])
    # TensorKrowch's output, saved on another machine: the same contraction, perhaps in
    # another order and with another BLAS.
    assert_close_elem(model(x), case["out"], factor=300)


def _layer():
    return tk.models.MPSLayer(
        n_features=7, in_dim=3, out_dim=4, bond_dim=4, init_method="randn_eye", std=0.1, dtype=DT
    )


def _roundtrip(sd):
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    return torch.load(buf)


@pytest.mark.parametrize("target", ["untraced", "traced"])
@pytest.mark.parametrize("saved", ["untraced", "traced"])
def test_torchtn_checkpoints_load_in_either_mode(saved, target):
    x = torch.rand(5, 6, 3, dtype=DT)
    source = _layer()
    if saved == "traced":
        source.trace(x)
    expected = source(x).detach()
    sd = _roundtrip(source.state_dict())
    model = _layer()
    with torch.no_grad():  # other values, so that loading must change them
        for p in model.state_dict(keep_vars=True).values():
            p.mul_(0.5)
    if target == "traced":
        model.trace(x)
    model.load_state_dict(sd)
    # The same numbers, contracted per node or through the recorded stacks.
    assert_close_elem(model(x), expected, factor=100)
    assert set(model.state_dict()) == set(model._parameters)


def test_traced_checkpoint_records_its_stacks():
    x = torch.rand(5, 6, 3, dtype=DT)
    model = _layer()
    model.trace(x)
    sd = model.state_dict()
    stacks = sd._metadata[""]["torchtn_stacks"]
    assert set(stacks) == {k for k in sd if k.startswith("param_virtual_result_stack")}
    members = [m for group in stacks.values() for m, _ in group]
    assert len(members) == 6 and len(set(members)) == 6


def test_unknown_stack_members_give_a_clear_error():
    model = _layer()
    sd = {k: v for k, v in model.state_dict().items() if "mats_env" not in k}
    sd["param_virtual_result_stack_7"] = torch.zeros(3, 4, 3, 4, dtype=DT)
    with pytest.raises(RuntimeError, match="member nodes"):
        model.load_state_dict(sd)


@pytest.mark.parametrize("kind", ["mps_layer", "mps", "tree"])
def test_truncated_model_rebuilds_from_its_state_dict(kind):
    x = {
        "mps_layer": torch.rand(5, 6, 3, dtype=DT),
        "mps": torch.rand(5, 7, 3, dtype=DT),
        "tree": torch.randn(4, 8, 3, dtype=DT),
    }[kind]

    def make():
        if kind == "mps_layer":
            return _layer()
        if kind == "mps":
            return tk.models.MPS(
                n_features=7, phys_dim=3, bond_dim=4, init_method="randn_eye", std=0.1, dtype=DT
            )
        return tk.models.Tree([4, 2, 1], [[3, 3, 4], [4, 4, 4], [4, 4, 5]]).to(DT)

    source = make()
    source.canonicalize(rank=2)
    expected = source(x).detach()
    bonds = source.bond_dim
    sd = _roundtrip(source.state_dict())
    fresh = make()  # built with the original bond list
    assert fresh.bond_dim != bonds
    fresh.load_state_dict(sd)
    assert fresh.bond_dim == bonds
    # The same truncated cores, contracted per node (then through the recorded stacks).
    assert_close_elem(fresh(x), expected, factor=100)
    fresh.trace(x)
    assert_close_elem(fresh(x), expected, factor=100)
