"""Initialisation of long chains (issue 12, item 6): the documented recipes keep outputs
finite and of order one where TK's default ``randn`` explodes.

The figures in the ``MPS`` docstring come from the same set-up (MPSLayer, bond 10,
out_dim 10, float32, x uniform in [0, 1]); the bounds here are loose on purpose.
"""

from __future__ import annotations

import pytest
import torch

import torchtn as tk
from torchtn.models import MPSLayer


def _median_output(n: int, embedding, seed: int = 0, **kwargs) -> float:
    torch.manual_seed(seed)
    model = MPSLayer(n_features=n, in_dim=2, out_dim=10, bond_dim=10, **kwargs)
    x = torch.rand(16, n - 1)
    with torch.no_grad():
        out = model(embedding(x))
    return out.abs().median().item()


def test_default_randn_explodes_on_65_sites():
    # TK's default, kept: documented as unsuitable for long chains.
    assert _median_output(65, tk.embeddings.add_ones) > 1e15


@pytest.mark.parametrize("n", [65, 785])
def test_randn_eye_with_add_ones_stays_of_order_one(n):
    value = _median_output(n, tk.embeddings.add_ones, init_method="randn_eye", std=1e-9)
    assert 0.5 < value < 2.0


def test_unit_with_unit_embedding_stays_finite():
    # (785 sites: ~1e-5, measured, not run here: 'unit' draws 1570 Haar unitaries.)
    value = _median_output(65, tk.embeddings.unit, init_method="unit")
    assert 1e-3 < value < 1e3
