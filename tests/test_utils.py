"""Tests for torchtn.utils (TensorKrowch's ``tk.utils``)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torchtn import utils
from torchtn.errors import TNIndexError, TNTypeError, TNValueError


def test_all_names_exist():
    expected = {
        "print_list",
        "tab_string",
        "check_name_style",
        "erase_enum",
        "enum_repeated_names",
        "permute_list",
        "is_permutation",
        "inverse_permutation",
        "fact",
        "binomial_coeffs",
        "stack_unequal_tensors",
        "list2slice",
        "split_sequence_into_regions",
        "random_unitary",
    }
    assert set(utils.__all__) == expected
    assert all(callable(getattr(utils, n)) for n in expected)


# Expected strings below were produced by TensorKrowch 1.1.6.
def test_print_list():
    assert utils.print_list([1, "a", [2, 3]]) == "[1\n a\n [2, 3]]"
    assert utils.print_list([]) == "[]"


@pytest.mark.parametrize(
    ("string", "num_tabs", "expected"),
    [("ab\ncd", 2, "\t\tab\n\t\tcd"), ("", 1, "\t"), ("x\n", 1, "\tx\n\t"), ("x", 0, "x")],
)
def test_tab_string(string, num_tabs, expected):
    assert utils.tab_string(string, num_tabs) == expected


@pytest.mark.parametrize(
    ("name", "axis_ok", "node_ok"),
    [
        ("a_b1", True, True),
        ("a b", False, False),
        ("a-b", False, True),
        ("mats_env_node_(0)", False, True),
        ("", True, True),
        ("_", True, True),
    ],
)
def test_check_name_style(name, axis_ok, node_ok):
    assert utils.check_name_style(name) is axis_ok
    assert utils.check_name_style(name, "axis") is axis_ok
    assert utils.check_name_style(name, "node") is node_ok


def test_check_name_style_rejects_unknown_type():
    with pytest.raises(TNValueError, match="'axis' or 'node', got 'edge'"):
        utils.check_name_style("a", "edge")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a_1_2", "a"), ("node_0", "node"), ("node_(0)", "node_(0)"), ("left", "left"), ("_0", "")],
)
def test_erase_enum(name, expected):
    assert utils.erase_enum(name) == expected


def test_enum_repeated_names():
    assert utils.enum_repeated_names(["input", "left", "input_7", "right_3"]) == [
        "input_0",
        "left",
        "input_1",
        "right",
    ]
    assert utils.enum_repeated_names([]) == []


def test_permute_list():
    assert utils.permute_list([5, 6, 7], [2, 0, 1]) == [7, 5, 6]
    assert utils.permute_list([5, 6, 7], [0]) == [5]
    assert utils.permute_list([5, 6, 7], [-1]) == [7]
    with pytest.raises(TNIndexError, match="index 3.*length 3"):
        utils.permute_list([5, 6, 7], [3])
    with pytest.raises(IndexError):
        utils.permute_list([], [0])


@pytest.mark.parametrize(
    ("lst", "permuted", "expected"),
    [
        ([1, 2, 3], [3, 1, 2], True),
        ([1, 2, 3], [1, 2], False),
        ([1, 1, 2], [1, 2, 2], False),
        ([1, 1, 2], [2, 1, 1], True),
        ([1, 2], [1, 3], False),
        ([], [], True),
        ([[0], [1]], [[1], [0]], True),
    ],
)
def test_is_permutation(lst, permuted, expected):
    assert utils.is_permutation(lst, permuted) is expected


@pytest.mark.parametrize(
    ("dims", "expected"),
    [
        ([2, 0, 1], [1, 2, 0]),
        ([1, 0], [1, 0]),
        ([2, 0], [1, 0]),
        ([3, 1], [1, 0]),
        ([0], [0]),
        ([], []),
        ([1, 3, 0], [2, 0, 1]),
    ],
)
def test_inverse_permutation(dims, expected):
    assert utils.inverse_permutation(dims) == expected


@settings(max_examples=50, deadline=None)
@given(st.permutations(list(range(7))), st.integers(0, 7))
def test_inverse_permutation_undoes_the_permutation(perm, keep):
    x = list(range(10, 17))
    assert utils.permute_list(utils.permute_list(x, perm), utils.inverse_permutation(perm)) == x
    # With slots missing, the inverse sorts what is left.
    partial = [p for p in perm if p < keep]
    assert utils.permute_list(partial, utils.inverse_permutation(partial)) == sorted(partial)


@pytest.mark.parametrize("n", [0, 1, 5, 10])
def test_fact(n):
    assert utils.fact(n) == math.factorial(n)


@pytest.mark.parametrize("n", [-1, 2.5, "3"])
def test_fact_rejects_bad_values(n):
    with pytest.raises(TNValueError, match="non-negative integer"):
        utils.fact(n)


@pytest.mark.parametrize(("n", "k"), [(5, 2), (5, 0), (5, 5), (10, 3), (0, 0)])
def test_binomial_coeffs(n, k):
    assert utils.binomial_coeffs(n, k) == math.comb(n, k)


def test_binomial_coeffs_rejects_k_above_n():
    with pytest.raises(ValueError, match="got -2"):
        utils.binomial_coeffs(3, 5)


# --------------------------------------------------------------------------- stacking


def test_stack_unequal_tensors_pads_at_the_beginning():
    out = utils.stack_unequal_tensors([torch.ones(1, 2), 2 * torch.ones(2, 1)])
    expected = torch.tensor([[[0.0, 0.0], [1.0, 1.0]], [[0.0, 2.0], [0.0, 2.0]]])
    torch.testing.assert_close(out, expected)


def test_stack_unequal_tensors_equal_shapes_and_empty():
    ts = [torch.randn(2, 3, dtype=torch.float64) for _ in range(3)]
    torch.testing.assert_close(utils.stack_unequal_tensors(ts), torch.stack(ts))
    assert utils.stack_unequal_tensors([]) is None


def test_stack_unequal_tensors_rejects_mixed_ranks():
    with pytest.raises(TNValueError, match=r"same rank, got ranks \[2, 1\]"):
        utils.stack_unequal_tensors([torch.ones(2, 2), torch.ones(2)])


def test_stack_unequal_tensors_is_differentiable():
    a = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: utils.stack_unequal_tensors([x, y]), (a, b))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 3).flatmap(
        lambda rank: st.lists(
            st.lists(st.integers(0, 3), min_size=rank, max_size=rank), min_size=1, max_size=4
        )
    )
)
def test_stack_unequal_tensors_places_data_at_the_end(shapes):
    g = torch.Generator().manual_seed(0)
    tensors = [torch.rand(tuple(s), generator=g, dtype=torch.float64) + 1 for s in shapes]
    out = utils.stack_unequal_tensors(tensors)
    max_shape = [max(sizes) for sizes in zip(*shapes, strict=True)]
    assert list(out.shape) == [len(shapes), *max_shape]
    for i, (t, s) in enumerate(zip(tensors, shapes, strict=True)):
        index = (i, *(slice(m - d, m) for d, m in zip(s, max_shape, strict=True)))
        torch.testing.assert_close(out[index], t)
        # Everything outside the data block is zero padding.
        assert out[i].sum().item() == pytest.approx(t.sum().item())


# --------------------------------------------------------------------------- list2slice


@pytest.mark.parametrize(
    ("lst", "expected"),
    [
        ([3], slice(3, 4, None)),
        ([1, 2, 3], slice(1, 4, 1)),
        ([0, 2, 4], slice(0, 5, 2)),
        ([1, 2, 4], [1, 2, 4]),
        ([], []),
        ([3, 2, 1], [3, 2, 1]),
        ([2, 2], [2, 2]),
    ],
)
def test_list2slice(lst, expected):
    assert utils.list2slice(lst) == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=6))
def test_list2slice_selects_the_same_elements(lst):
    data = list(range(100, 110))
    index = utils.list2slice(lst)
    selected = data[index] if isinstance(index, slice) else [data[i] for i in index]
    assert selected == [data[i] for i in lst]


# ------------------------------------------------------------- split_sequence_into_regions


@pytest.mark.parametrize(
    ("lst", "expected"),
    [
        ([1, 2, 3, 5, 6, 8], [[1, 2, 3], [5, 6], [8]]),
        ([], []),
        ([4], [[4]]),
        ((1, 2), [[1, 2]]),
        ([-2, -1, 3], [[-2, -1], [3]]),
    ],
)
def test_split_sequence_into_regions(lst, expected):
    assert utils.split_sequence_into_regions(lst) == expected


@pytest.mark.parametrize(
    ("lst", "error", "match"),
    [
        ([1, 3, 2], TNValueError, "ascending"),
        ([1, 1], TNValueError, "repeated"),
        ([1, "a"], TNTypeError, "integers, got element 'a'"),
        ("abc", TNTypeError, "sequence of integers"),
        ([1.0, 2.0], TNTypeError, "integers"),
        (5, TNTypeError, "got int"),
    ],
)
def test_split_sequence_into_regions_errors(lst, error, match):
    with pytest.raises(error, match=match):
        utils.split_sequence_into_regions(lst)


# --------------------------------------------------------------------------- random_unitary


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("n", [1, 4, 7])
def test_random_unitary_is_unitary(n, dtype):
    u = utils.random_unitary(n, dtype=dtype)
    assert u.shape == (n, n) and u.dtype == dtype
    torch.testing.assert_close(u.mH @ u, torch.eye(n, dtype=dtype))


def test_random_unitary_makes_one_draw_and_matches_tensorkrowch():
    torch.manual_seed(0)
    u = utils.random_unitary(3)
    after = torch.rand(2)
    torch.manual_seed(0)
    torch.randn(3, 3)
    torch.testing.assert_close(after, torch.rand(2))
    # Value produced by TensorKrowch 1.1.6 with the same seed.
    expected = torch.tensor(
        [
            [0.9111348391, 0.0751304179, 0.4052018225],
            [0.3360927105, -0.7044632435, -0.6251187325],
            [0.2384843230, 0.7057529092, -0.6671117544],
        ]
    )
    torch.testing.assert_close(u, expected)
    assert u.dtype == torch.get_default_dtype()
