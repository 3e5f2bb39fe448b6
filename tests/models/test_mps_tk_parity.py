"""Seeded values recorded from TensorKrowch 1.1.6 (torch 2.13, CPU, float32).

They pin the random-draw order of the init methods and the per-step ``renormalize``
rule, which user checkpoints and trained classifier scores depend on.
"""

import pytest
import torch
from _tol import assert_close_rel

from torchtn.models import MPS, MPSLayer, UMPSLayer

CASES = [
    (
        lambda: MPS(n_features=4, phys_dim=2, bond_dim=3, boundary="pbc", init_method="rand"),
        {"renormalize": True},
        [0.9464118480682373, 0.9504742622375488, -0.7860220670700073],
    ),
    (
        lambda: MPSLayer(
            n_features=5, in_dim=2, out_dim=3, bond_dim=3, init_method="randn_eye", std=0.1
        ),
        {"renormalize": True},
        [
            [0.6749252676963806, 0.562255322933197, 0.7706013321876526],
            [-0.5065444111824036, -0.7180371284484863, -0.7303748726844788],
            [-0.19896137714385986, -0.46776315569877625, -0.4516027569770813],
        ],
    ),
    (
        lambda: MPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=3, init_method="unit"),
        {"inline_mats": True, "renormalize": True},
        [
            [0.1624336838722229, 1.7971632480621338, 0.5304417014122009],
            [-2.7945945262908936, -1.5195143222808838, 0.2877696454524994],
            [-0.8364697098731995, -0.48252302408218384, -0.6266565322875977],
        ],
    ),
    (
        lambda: UMPSLayer(n_features=4, in_dim=2, out_dim=3, bond_dim=3, out_position=2),
        {"renormalize": True},
        [
            [-3.358903408050537, 2.8870439529418945, -2.06693434715271],
            [3.4506165981292725, -1.435359239578247, 1.9901155233383179],
            [1.6075439453125, -1.218191385269165, -0.5617449283599854],
        ],
    ),
]


@pytest.mark.parametrize(("factory", "options", "expected"), CASES)
def test_seeded_outputs_match_tk(factory, options, expected):
    torch.manual_seed(0)
    model = factory()
    torch.manual_seed(1)
    data = torch.randn(3, len(model.in_features), 2)
    out = model(data, **options)
    # float32 contraction of a 4-site chain; TK's numbers carry another machine's rounding.
    assert_close_rel(out, torch.tensor(expected), factor=100)


def test_seeded_randn_core_matches_tk():
    torch.manual_seed(0)
    mps = MPS(n_features=4, phys_dim=2, bond_dim=3)
    expected = torch.tensor([-0.4926769733428955, 0.2484147548675537, -0.23033547401428223])
    torch.testing.assert_close(mps.mats_env[1].tensor[0, 0].detach(), expected)
