"""Generate TensorKrowch 1.1.6 checkpoints (untraced and traced) for torchtn's loading tests.

Run with the TensorKrowch environment (``make tk-env``), from this folder:
``../../.venv-tk/bin/python make_tk_checkpoints.py``. It writes
``tk_1_1_6_checkpoints.pth``: per model, the state_dict before and after ``trace()``, the
input and TensorKrowch's output.
"""

import tensorkrowch as tk
import torch

torch.manual_seed(0)
DT = torch.float64
out = {}


def case(name, make, x):
    m = make()
    untraced = {k: v.detach().clone() for k, v in m.state_dict().items()}
    with torch.no_grad():
        y = m(x).detach().clone()
    m.reset()
    m.trace(x)
    traced = {k: v.detach().clone() for k, v in m.state_dict().items()}
    with torch.no_grad():
        y2 = m(x).detach().clone()
    assert torch.allclose(y, y2)
    out[name] = {"untraced": untraced, "traced": traced, "x": x, "out": y}
    print(name, list(untraced), list(traced))


def mps_layer():
    return tk.models.MPSLayer(
        n_features=6, in_dim=3, out_dim=4, bond_dim=4, init_method="randn_eye", std=0.1, dtype=DT
    )


def mps():
    return tk.models.MPS(
        n_features=5, phys_dim=2, bond_dim=3, init_method="randn_eye", std=0.1, dtype=DT
    )


def mps_pbc():
    return tk.models.MPS(
        n_features=5,
        phys_dim=2,
        bond_dim=3,
        boundary="pbc",
        init_method="randn_eye",
        std=0.1,
        dtype=DT,
    )


def umps():
    return tk.models.UMPS(
        n_features=5, phys_dim=2, bond_dim=3, init_method="randn_eye", std=0.1, dtype=DT
    )


def peps():
    m = tk.models.PEPS(3, 3, 2, [2, 2])
    for n in m.leaf_nodes.values():
        n.tensor = torch.randn(n.shape) * 0.5
    return m.to(DT)


def tree():
    return tk.models.Tree([4, 2, 1], [[3, 3, 2], [2, 2, 2], [2, 2, 5]]).to(DT)


case("mps_layer", mps_layer, torch.rand(5, 5, 3, dtype=DT))
case("mps", mps, torch.rand(4, 5, 2, dtype=DT))
case("mps_pbc", mps_pbc, torch.rand(4, 5, 2, dtype=DT))
case("umps", umps, torch.rand(4, 5, 2, dtype=DT))
case("peps", peps, torch.randn(4, 9, 2, dtype=DT))
case("tree", tree, torch.randn(4, 8, 3, dtype=DT))
torch.save(out, "tk_1_1_6_checkpoints.pth")
