"""Tests for torchtn.embeddings: closed forms, axis placement, dtypes, errors, properties."""

from __future__ import annotations

import math

import pytest
import torch
from _tol import assert_close_elem, eps
from hypothesis import given, settings
from hypothesis import strategies as st

from torchtn import embeddings
from torchtn.embeddings import add_ones, basis, discretize, fourier, poly, unit
from torchtn.errors import TNError

F64 = torch.float64
S2 = math.sqrt(2.0)
S3 = math.sqrt(3.0)


def t64(values):
    return torch.tensor(values, dtype=F64)


# ------------------------------------------------------------------ closed forms


@pytest.mark.parametrize(
    ("x", "dim", "expected"),
    [
        (0.0, 2, [1.0, 0.0]),
        (1 / 3, 2, [S3 / 2, 0.5]),
        (0.5, 2, [S2 / 2, S2 / 2]),
        (1.0, 2, [0.0, 1.0]),
        (0.7, 1, [1.0]),
        (0.5, 3, [0.5, S2 / 2, 0.5]),
        # cos = √3/2, sin = 1/2: [c³, √3 c² s, √3 c s², s³]
        (1 / 3, 4, [3 * S3 / 8, 3 * S3 / 8, 3 / 8, 1 / 8]),
    ],
)
def test_unit_values(x, dim, expected):
    out = unit(t64([x]), dim=dim)
    # cos, sin, a power and a binomial square root: a few ulp per entry.
    assert_close_elem(out, t64([expected]), factor=16)


def test_unit_float32_cos_at_one_is_tiny_negative():
    # cos(float32(pi / 2)) is not 0: the same value TensorKrowch gives.
    out = unit(torch.tensor([1.0]))
    assert -eps(torch.float32) < out[0, 0].item() < 0  # -4.4e-8
    assert out.dtype == torch.float32


def test_add_ones_values():
    out = add_ones(t64([[2.0, -3.0]]))
    torch.testing.assert_close(out, t64([[[1.0, 2.0], [1.0, -3.0]]]))


@pytest.mark.parametrize(
    ("degree", "expected"),
    [
        (0, [[1.0], [1.0], [1.0]]),
        (2, [[1.0, 0.0, 0.0], [1.0, 2.0, 4.0], [1.0, -0.5, 0.25]]),
        (3, [[1.0, 0.0, 0.0, 0.0], [1.0, 2.0, 4.0, 8.0], [1.0, -0.5, 0.25, -0.125]]),
    ],
)
def test_poly_values(degree, expected):
    torch.testing.assert_close(poly(t64([0.0, 2.0, -0.5]), degree=degree), t64(expected))


def test_poly_keeps_integer_dtype():
    out = poly(torch.tensor([0, 3]), degree=2)
    assert out.dtype == torch.int64
    assert out.tolist() == [[1, 0, 0], [1, 3, 9]]


@pytest.mark.parametrize(
    ("x", "level", "base", "expected"),
    [
        ([0.0, 0.5, 0.75, 1.0], 3, 2, [[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]]),
        ([0.5, 1.0, 0.0], 2, 3, [[1, 1], [2, 2], [0, 0]]),
        ([0.25, 0.999], 3, 10, [[2, 5, 0], [9, 9, 9]]),
        ([0.2, 0.5, 0.9, 1.0], 1, 4, [[0], [2], [3], [3]]),
    ],
)
def test_discretize_values(x, level, base, expected):
    out = discretize(t64(x), level=level, base=base)
    assert out.dtype == F64
    torch.testing.assert_close(out, t64(expected))


def test_discretize_float32_largest_value():
    # 1 - 3**-2 is not representable in float32; values above it still get base - 1.
    out = discretize(torch.tensor([1.0, 0.95]), level=2, base=3)
    assert out.tolist() == [[2.0, 2.0], [2.0, 2.0]]


def test_discretize_integer_input_becomes_float():
    out = discretize(torch.tensor([0, 1]), level=2)
    assert out.dtype == torch.get_default_dtype()
    assert out.tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_basis_values():
    out = basis(torch.tensor([[0, 2], [1, 1]]), dim=3)
    assert out.dtype == torch.int64
    assert out.tolist() == [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]]


def test_basis_accepts_other_integer_dtypes():
    assert basis(torch.tensor([1, 0], dtype=torch.uint8)).tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize(
    ("x", "dim", "expected"),
    [
        (0.0, 5, [1.0, S2, 0.0, S2, 0.0]),
        (0.125, 5, [1.0, 1.0, 1.0, 0.0, S2]),
        (0.125, 4, [1.0, 1.0, 1.0, 0.0]),
        (0.25, 3, [1.0, 0.0, S2]),
        (0.3, 1, [1.0]),
        (0.5, 2, [1.0, -S2]),
    ],
)
def test_fourier_values(x, dim, expected):
    # cos/sin of a multiple of x and a sqrt(2) factor: a few ulp per entry.
    assert_close_elem(fourier(t64([x]), dim=dim), t64([expected]), factor=16)


# ------------------------------------------------------------------ shapes and axes

EMBEDDINGS = [
    pytest.param(lambda d, axis: unit(d, dim=3, axis=axis), 3, id="unit3"),
    pytest.param(lambda d, axis: unit(d, axis=axis), 2, id="unit2"),
    pytest.param(lambda d, axis: add_ones(d, axis=axis), 2, id="add_ones"),
    pytest.param(lambda d, axis: poly(d, degree=3, axis=axis), 4, id="poly"),
    pytest.param(lambda d, axis: discretize(d, level=2, axis=axis), 2, id="discretize"),
    pytest.param(lambda d, axis: basis((d * 2).long(), dim=3, axis=axis), 3, id="basis"),
    pytest.param(lambda d, axis: fourier(d, dim=4, axis=axis), 4, id="fourier"),
]


@pytest.mark.parametrize(("embed", "size"), EMBEDDINGS)
@pytest.mark.parametrize("batch", [(), (5,), (2, 3)])
def test_default_axis_is_last(embed, size, batch):
    data = torch.rand(*batch, 4, dtype=F64)
    assert embed(data, -1).shape == (*batch, 4, size)


@pytest.mark.parametrize(("embed", "size"), EMBEDDINGS)
@pytest.mark.parametrize("axis", [0, 1, 2, -2, -3])
def test_axis_matches_stack_semantics(embed, size, axis):
    data = torch.rand(5, 4, dtype=F64)
    last = embed(data, -1)
    out = embed(data, axis)
    expected_shape = list(data.shape)
    expected_shape.insert(axis if axis >= 0 else len(expected_shape) + 1 + axis, size)
    assert out.shape == tuple(expected_shape)
    torch.testing.assert_close(out, last.movedim(-1, axis))


@pytest.mark.parametrize(
    "embed",
    [
        lambda d: unit(d, dim=3, axis=0),
        lambda d: add_ones(d, axis=0),
        lambda d: poly(d, axis=1),
        lambda d: fourier(d, dim=3, axis=0),
        lambda d: discretize(d, level=2, axis=0),
    ],
)
def test_float_outputs_are_contiguous_for_any_axis(embed):
    assert embed(torch.rand(5, 4)).is_contiguous()


def test_scalar_data():
    assert unit(torch.tensor(0.5, dtype=F64)).shape == (2,)
    assert basis(torch.tensor(1), dim=3).tolist() == [0, 1, 0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "embed",
    [unit, add_ones, poly, fourier, lambda d: discretize(d, level=2)],
)
def test_float_dtype_follows_input(embed, dtype):
    assert embed(torch.rand(3, 2, dtype=dtype)).dtype == dtype


def test_integer_input_promotes_to_default_float():
    assert unit(torch.tensor([0, 1])).dtype == torch.get_default_dtype()
    assert fourier(torch.tensor([0, 1]), dim=3).dtype == torch.get_default_dtype()


def test_empty_data():
    assert unit(torch.rand(0, 3)).shape == (0, 3, 2)
    assert basis(torch.zeros(0, 3, dtype=torch.long)).shape == (0, 3, 2)
    assert discretize(torch.rand(0, 3), level=2).shape == (0, 3, 2)


def test_module_globals():
    assert embeddings.pi == math.pi
    assert embeddings.sqrt(4) == 2
    assert embeddings.torch is torch
    assert embeddings.binomial_coeffs(4, 2) == 6
    assert sorted(embeddings.__all__) == sorted(
        ["unit", "add_ones", "poly", "discretize", "basis", "fourier"]
    )


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize(
    "embed",
    [
        lambda d: unit(d, dim=2),
        lambda d: unit(d, dim=4),
        lambda d: poly(d, degree=3),
        lambda d: fourier(d, dim=5),
        add_ones,
    ],
)
def test_gradcheck(embed):
    data = torch.tensor([[0.1, 0.45], [0.8, 0.3]], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(embed, (data,))


def test_poly_gradient_is_finite_at_zero():
    data = torch.zeros(3, dtype=F64, requires_grad=True)
    poly(data, degree=3).sum().backward()
    assert data.grad.tolist() == [1.0, 1.0, 1.0]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("fn", [unit, add_ones, poly, fourier, basis])
def test_non_tensor_data_raises_type_error(fn):
    with pytest.raises(TypeError, match=r"`data` should be a torch.Tensor, got list"):
        fn([0.1, 0.2])


def test_discretize_non_tensor_raises_type_error():
    with pytest.raises(TypeError, match=r"`data` should be a torch.Tensor, got float"):
        discretize(0.5, level=1)


@pytest.mark.parametrize("fn", [unit, add_ones, poly, fourier])
@pytest.mark.parametrize("axis", [3, -4])
def test_axis_out_of_range(fn, axis):
    with pytest.raises(IndexError, match=rf"`axis` should be in \[-3, 2\].*got {axis}"):
        fn(torch.rand(5, 4), axis=axis)


def test_axis_wrong_type():
    with pytest.raises(TypeError, match=r"`axis` should be an int, got float"):
        unit(torch.rand(5, 4), axis=1.0)


@pytest.mark.parametrize(
    ("call", "name", "minimum", "value"),
    [
        (lambda d: unit(d, dim=0), "dim", 1, 0),
        (lambda d: fourier(d, dim=-1), "dim", 1, -1),
        (lambda d: poly(d, degree=-1), "degree", 0, -1),
        (lambda d: discretize(d, level=0), "level", 1, 0),
        (lambda d: discretize(d, level=2, base=1), "base", 2, 1),
        (lambda d: basis((d * 0).long(), dim=0), "dim", 1, 0),
    ],
)
def test_bad_int_arguments(call, name, minimum, value):
    with pytest.raises(ValueError, match=rf"`{name}` should be an int >= {minimum}, got {value}"):
        call(torch.rand(3))


def test_int_argument_wrong_type():
    with pytest.raises(TypeError, match=r"`dim` should be an int, got float \(2.0\)"):
        unit(torch.rand(3), dim=2.0)
    with pytest.raises(TypeError, match=r"`degree` should be an int, got bool"):
        poly(torch.rand(3), degree=True)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_discretize_out_of_range(bad):
    with pytest.raises(ValueError, match=r"`data` values should be in \[0, 1\]"):
        discretize(t64([0.5, bad]), level=2)


def test_basis_rejects_floats():
    with pytest.raises(ValueError, match=r"tensor of integers, got dtype torch.float32"):
        basis(torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize(("values", "got"), [([0, 3], r"\[0, 3\]"), ([-1, 1], r"\[-1, 1\]")])
def test_basis_values_out_of_range(values, got):
    with pytest.raises(ValueError, match=rf"should be in \[0, 2\] for dim=3, got values in {got}"):
        basis(torch.tensor(values), dim=3)


def test_errors_are_torchtn_errors():
    with pytest.raises(TNError):
        unit("x")
    with pytest.raises(TNError):
        discretize(t64([2.0]), level=1)


# ------------------------------------------------------------------ properties

unit_data = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(values=unit_data, dim=st.integers(1, 8))
def test_unit_vectors_have_unit_norm(values, dim):
    out = unit(t64(values), dim=dim)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(len(values), dtype=F64))
    assert (out >= -16 * eps(F64)).all()  # cos/sin on [0, pi/2], up to rounding near 0


@settings(max_examples=40, deadline=None)
@given(values=unit_data, dim=st.integers(1, 9))
def test_fourier_norms(values, dim):
    # Each full cos/sin pair contributes 2, the constant 1 and a lone cos 2cos².
    out = fourier(t64(values), dim=dim)
    norms = out.pow(2).sum(-1)
    x = t64(values)
    expected = 1 + 2 * ((dim - 1) // 2)
    if dim % 2 == 0:
        expected = expected + 2 * torch.cos(2 * math.pi * (dim // 2) * x) ** 2
    torch.testing.assert_close(norms, expected * torch.ones_like(x))


@settings(max_examples=40, deadline=None)
@given(values=unit_data, d=st.integers(2, 6))
def test_discretize_then_basis_is_one_hot(values, d):
    x = t64(values)
    index = discretize(x, level=1, base=d)[..., 0].long()
    onehot = basis(index, dim=d)
    assert onehot.shape == (len(values), d)
    assert (onehot.sum(-1) == 1).all()
    expected = torch.clamp(torch.floor(x * d), max=d - 1).long()
    assert torch.equal(onehot.argmax(-1), expected)


@settings(max_examples=40, deadline=None)
@given(values=unit_data, level=st.integers(1, 5), base=st.integers(2, 5))
def test_discretize_digits_reconstruct_value(values, level, base):
    x = t64(values)
    digits = discretize(x, level=level, base=base)
    assert ((digits >= 0) & (digits <= base - 1)).all()
    assert torch.equal(digits, digits.floor())
    weights = t64([base**-i for i in range(1, level + 1)])
    approx = (digits * weights).sum(-1)
    # The digits spell the value truncated to `level` places (values above the
    # largest representable number are capped at it). The sum of `level` <= 5 rounded
    # products of numbers in [0, 1] is off by at most a few eps.
    slack = 16 * eps(F64)
    assert (approx <= x + slack).all()
    assert (x - approx <= base**-level + slack).all()


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=6), degree=st.integers(0, 5))
def test_poly_matches_powers(values, degree):
    x = t64(values)
    expected = torch.stack([x**k for k in range(degree + 1)], dim=-1)
    torch.testing.assert_close(poly(x, degree=degree), expected)
