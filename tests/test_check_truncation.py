"""``torchtn.linalg.check_truncation``: the strict checks model ``canonicalize`` uses."""

from __future__ import annotations

import math

import pytest
import torch

from torchtn.errors import TNTypeError, TNValueError
from torchtn.linalg import check_truncation, select_rank


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(rank=1),
        dict(rank=7, cum_percentage=1.0, cutoff=0.0),
        dict(cum_percentage=1e-6),
        dict(cum_percentage=torch.tensor(0.5), cutoff=3),
    ],
)
def test_accepts_meaningful_values(kwargs):
    check_truncation(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(rank=0), TNValueError, "`rank` should be at least 1, got 0"),
        (dict(rank=-1), TNValueError, "rank"),
        (dict(rank=2.5), TNTypeError, r"`rank` should be int, got 2.5 \(float\)"),
        (dict(rank=True), TNTypeError, "rank"),
        (dict(cum_percentage=0), TNValueError, r"`cum_percentage` should be in \(0, 1\]"),
        (dict(cum_percentage=1.5), TNValueError, "cum_percentage"),
        (dict(cum_percentage=math.nan), TNValueError, "cum_percentage"),
        (dict(cum_percentage="0.5"), TNTypeError, "cum_percentage"),
        (dict(cutoff=-1e-3), TNValueError, "`cutoff` should be >= 0"),
        (dict(cutoff=math.nan), TNValueError, "cutoff"),
        (dict(cutoff=[1.0]), TNTypeError, "cutoff"),
    ],
)
def test_rejects_values_that_collapse_or_do_nothing(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        check_truncation(**kwargs)


def test_select_rank_keeps_tk_lenient_rule():
    # The kernel (used by the graph-level split/svd) still clamps as TensorKrowch did.
    s = torch.tensor([4.0, 3.0, 2.0, 1.0])
    assert select_rank(s, rank=0) == 1
    assert select_rank(s, cum_percentage=1.5) == 4
