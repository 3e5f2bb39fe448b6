"""Tests for torchtn.planning.cost: PlanInfo and estimate."""

from __future__ import annotations

import pickle

import opt_einsum
import pytest

from torchtn.planning import PlanInfo, estimate, get_plan

EQ = "abc,bcd,de->ae"
SHAPES = [(2, 3, 4), (3, 4, 5), (5, 6)]


def test_estimate_matches_opt_einsum():
    path, ref = opt_einsum.contract_path(EQ, *SHAPES, shapes=True)
    info = estimate(EQ, SHAPES)
    assert info.flops == int(ref.opt_cost) == 360
    assert info.naive_flops == int(ref.naive_cost) == 2160
    assert info.largest_intermediate == int(ref.largest_intermediate) == 12
    assert info.path == tuple(tuple(step) for step in path)
    assert info.steps == ("bcd,abc->da", "da,de->ae")
    assert info.speedup == pytest.approx(6.0)
    assert info.shapes == tuple(SHAPES)


def test_plan_info_is_the_plan_attribute():
    assert estimate(EQ, SHAPES) is get_plan(EQ, SHAPES).info


def test_repr_is_readable():
    text = repr(estimate(EQ, SHAPES))
    assert text.splitlines() == [
        "PlanInfo('abc,bcd,de->ae', shapes=((2, 3, 4), (3, 4, 5), (5, 6)), flops=360, "
        "naive_flops=2,160 (x6), largest_intermediate=12)",
        "  step 0: (0, 1) bcd,abc->da",
        "  step 1: (0, 1) da,de->ae",
    ]


def test_plain_data():
    info = estimate(EQ, SHAPES)
    assert isinstance(info, PlanInfo)
    assert pickle.loads(pickle.dumps(info)) == info
    with pytest.raises(AttributeError):
        info.flops = 0


def test_single_operand():
    info = estimate("ii->", [(3, 3)])
    assert info.path == ((0,),)
    assert info.largest_intermediate == 1


def test_zero_flops_speedup():
    assert estimate("ij,jk->ik", [(0, 3), (3, 4)]).speedup == 1.0


def test_estimate_validates():
    with pytest.raises(ValueError, match=r"label 'j' has size 4"):
        estimate("ij,jk->ik", [(2, 3), (4, 5)])
