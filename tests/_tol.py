"""Tolerances derived from the dtype and the computation, for numeric comparisons in tests.

A bound is ``factor * eps`` relative to the size of the reference, where ``eps`` is
``torch.finfo(dtype).eps`` of the less precise operand (the real dtype for complex ones)
and ``factor`` states how much rounding the computation can accumulate:

- ~10-20: a few correctly rounded elementary operations (sums, products, ``sin``/``cos``);
- ~100-300: contractions, matrix products and reductions over short chains;
- more, with the reason written next to it: long chains, or results that go through an
  SVD/QR/least-squares whose conditioning amplifies rounding.

:func:`assert_close_rel` compares norms, ``||actual - expected|| <= factor * eps * ||expected||``,
and is the one to use for the results of linear algebra, where single small entries carry
absolute (not relative) error. :func:`assert_close_elem` compares entries,
``|a - e| <= factor * eps * (|e| + max|e|)``. Both also check shape and dtype.

``torch.testing.assert_close`` with its default tolerances is dtype-based too (float32:
``rtol = 1.3e-6``, about 11 eps, ``atol = 1e-5``; float64: ``rtol = atol = 1e-7``, a loose
5e8 eps); the tests keep it for well-conditioned results of order one, where the error
measured on several CPU code paths is orders of magnitude below it.
"""

from __future__ import annotations

import torch

__all__ = ["eps", "assert_close_rel", "assert_close_elem"]


def eps(*items: torch.Tensor | torch.dtype) -> float:
    """Machine epsilon of the least precise of the given tensors or dtypes.

    Complex dtypes count as their real part (complex64 -> float32). Integer and bool
    tensors are ignored; with no floating item the result is float64's eps.
    """
    values = []
    for item in items:
        dtype = item.dtype if isinstance(item, torch.Tensor) else item
        if dtype.is_complex:
            dtype = dtype.to_real()
        if dtype.is_floating_point:
            values.append(torch.finfo(dtype).eps)
    return max(values, default=torch.finfo(torch.float64).eps)


def _tolerance(actual, expected, factor, dtype) -> float:
    return factor * (eps(dtype) if dtype is not None else eps(actual, expected))


def _as_tensors(actual, expected) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(actual, torch.Tensor) or not isinstance(expected, torch.Tensor):
        raise TypeError(
            f"expected two tensors, got {type(actual).__name__} and {type(expected).__name__}"
        )
    if actual.shape != expected.shape:
        raise AssertionError(f"shapes differ: {tuple(actual.shape)} vs {tuple(expected.shape)}")
    if actual.dtype != expected.dtype:
        raise AssertionError(f"dtypes differ: {actual.dtype} vs {expected.dtype}")
    return actual.detach(), expected.detach()


def assert_close_rel(
    actual: torch.Tensor,
    expected: torch.Tensor,
    *,
    factor: float = 100,
    dtype: torch.dtype | None = None,
    scale: float | None = None,
) -> None:
    """Assert ``||actual - expected|| <= factor * eps * ||expected||`` (Frobenius norms).

    Args:
        actual: Computed tensor.
        expected: Reference, same shape and dtype.
        factor: How many eps of relative error the computation may accumulate.
        dtype: Dtype whose eps is used (default: the operands' dtype). Give it when the
            computation went through a less precise dtype than the operands'.
        scale: Size the error is relative to, instead of ``||expected||``: for a reference
            that is zero (or much smaller than the numbers it was computed from).
    """
    a, e = _as_tensors(actual, expected)
    tol = _tolerance(a, e, factor, dtype)
    size = e.norm().item() if scale is None else float(scale)
    err = (a - e).norm().item()
    if not err <= tol * size:  # also fails on NaN
        unit = eps(dtype) if dtype is not None else eps(a, e)
        ratio = err / (unit * size) if size else float("inf")
        raise AssertionError(
            f"||actual - expected|| = {err:.3e} is {ratio:.1f} eps times the reference "
            f"size {size:.3e}; allowed: {factor} eps"
        )


def assert_close_elem(
    actual: torch.Tensor,
    expected: torch.Tensor,
    *,
    factor: float = 100,
    dtype: torch.dtype | None = None,
) -> None:
    """Assert ``|actual - expected| <= factor * eps * (|expected| + max|expected|)`` entrywise.

    Args:
        actual: Computed tensor.
        expected: Reference, same shape and dtype.
        factor: How many eps of error each entry may accumulate, relative to the entry
            itself plus the largest entry of the reference (the scale of the computation).
        dtype: Dtype whose eps is used (default: the operands' dtype).
    """
    a, e = _as_tensors(actual, expected)
    tol = _tolerance(a, e, factor, dtype)
    scale = e.abs().max().item() if e.numel() else 0.0
    torch.testing.assert_close(a, e, rtol=tol, atol=tol * scale)
