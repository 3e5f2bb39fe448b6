"""Generated kernels of pairwise contractions and traces against einsum (values, grads)."""

from __future__ import annotations

import pytest
import torch

from torchtn.ops._contract_plan import plan_pair, plan_trace

DT = torch.float64


@pytest.mark.parametrize(
    ("shape_x", "shape_y", "contracted", "free_x", "free_y", "order_x", "order_y"),
    [
        ((2, 3, 4), (4, 5), [(2, 0)], [0, 1], [1], None, None),  # (free, k) @ (k, n)
        ((2, 3, 4), (5, 4), [(2, 1)], [0, 1], [0], None, None),  # y stored (n, k)
        ((4, 3), (4, 5), [(0, 0)], [1], [1], None, None),  # x stored (k, m)
        ((4, 3), (5, 4), [(0, 1)], [1], [0], None, None),  # both transposed
        ((3, 4), (4,), [(1, 0)], [0], [], None, None),  # matrix-vector
        ((4,), (4,), [(0, 0)], [], [], None, None),  # dot
        ((4,), (4, 5), [(0, 0)], [], [1], None, None),  # vector-matrix
        ((2, 3, 4), (4, 5), [(2, 0)], [0, 1], [1], (1, 0, 2), None),  # relaid out x
    ],
)
def test_matmul_forms_match_einsum(shape_x, shape_y, contracted, free_x, free_y, order_x, order_y):
    x = torch.randn(*shape_x, dtype=DT, requires_grad=True)
    y = torch.randn(*shape_y, dtype=DT, requires_grad=True)
    fn, out_order = plan_pair(
        x.dim(),
        y.dim(),
        [],
        contracted,
        free_x,
        free_y,
        [False] * len(free_x),
        [False] * len(free_y),
        order_x,
        order_y,
    )
    letters = "abcdefgh"
    ex = list(letters[: x.dim()])
    ey = list(letters[4 : 4 + y.dim()])
    for i, j in contracted:
        ey[j] = ex[i]
    out = "".join(ex[a] for a in free_x) + "".join(ey[a] for a in free_y)
    ref = torch.einsum(f"{''.join(ex)},{''.join(ey)}->{out}", x, y)
    xs = x if order_x is None else x.permute(order_x)
    r = fn(xs, y)
    if out_order:
        r = r.permute([out_order.index(k) for k in range(len(out_order))])
    torch.testing.assert_close(r, ref)
    (r.sum()).backward()
    assert x.grad is not None and y.grad is not None


@pytest.mark.parametrize(
    ("shape", "pairs", "order"),
    [
        ((4, 3, 3), [(1, 2)], None),
        ((3, 4, 3), [(0, 2)], None),
        ((3, 5, 3, 2, 2), [(0, 2), (3, 4)], None),
        ((2, 3, 2, 4), [(0, 2)], (3, 1, 0, 2)),  # stored in another order
        ((2, 3, 2, 4), [(0, 2)], (1, 3, 2, 0)),
        ((2, 2), [(0, 1)], None),  # full trace: a scalar
        ((4, 3, 3), [(1, 2), (1, 2)], None),  # the same edge listed twice
        ((3, 3, 3, 2), [(0, 1), (1, 2)], (3, 2, 1, 0)),  # chained: one 3-axis diagonal
    ],
)
def test_trace_matches_einsum(shape, pairs, order):
    x = torch.randn(*shape, dtype=DT, requires_grad=True)
    letters = list("abcdefgh"[: len(shape)])
    for i, j in pairs:
        letters[j] = letters[i]
    traced = {a for p in pairs for a in p}
    out = "".join(letters[a] for a in range(len(shape)) if a not in traced)
    ref = torch.einsum(f"{''.join(letters)}->{out}", x)
    fn = plan_trace(len(shape), pairs, order)
    xs = x if order is None else x.permute(order)
    r = fn(xs, xs)
    torch.testing.assert_close(r, ref)
    r.sum().backward()
    torch.testing.assert_close(x.grad, torch.autograd.grad(ref.sum(), x)[0])
