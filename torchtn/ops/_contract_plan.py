"""Planning of a pairwise contraction as one batched matrix product.

Given which axes of the two operands are matched batch axes, contracted axes and free
axes, and the axis order each operand is stored in, :func:`plan_pair` generates a small
Python function ``fn(x, y)`` doing at most one permute+reshape per operand, one
``torch.bmm``/``torch.mm`` and one reshape, choosing the group orders and the output
order so that operands already laid out batch-first need no copy at all (a chain of
``(batch, left, right)`` matrices becomes a sequence of bare ``torch.bmm`` calls).
Generated functions are cached by their static signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import torch

from torchtn.core.kernel import Kernel, Order

__all__ = ["plan_pair", "plan_trace", "PairKernel", "TraceKernel"]

_CODE_CACHE: dict[tuple, Callable] = {}


def _prod_expr(sizes: Sequence[str]) -> str:
    return "*".join(sizes) if sizes else "1"


def _compile(key: tuple, src: str) -> Callable:
    fn = _CODE_CACHE.get(key)
    if fn is None:
        scope: dict = {"torch": torch, "bmm": torch.bmm, "mm": torch.mm, "matmul": torch.matmul}
        exec(src, scope)  # noqa: S102 - source is generated from integer plans only
        fn = _CODE_CACHE[key] = scope["fn"]
    return fn


def plan_pair(
    rank_x: int,
    rank_y: int,
    batch: Sequence[tuple[int, int]],
    contracted: Sequence[tuple[int, int]],
    free_x: Sequence[int],
    free_y: Sequence[int],
    batchy_x: Sequence[bool],
    batchy_y: Sequence[bool],
    order_x: Sequence[int] | None = None,
    order_y: Sequence[int] | None = None,
) -> tuple[Callable, tuple[int, ...]]:
    """Plan ``x (.) y`` for inputs stored in axis orders ``order_x``/``order_y``.

    Args:
        rank_x, rank_y: Operand ranks.
        batch: Matched batch axis pairs ``(axis of x, axis of y)``, in x's axis order.
        contracted: Contracted axis pairs, in x's axis order.
        free_x, free_y: Free axes of each operand, in node order.
        batchy_x, batchy_y: Whether each free axis is a batch-named axis (these are
            placed first in the output when possible, so that later contractions see
            batch-first data).
        order_x, order_y: Axis order of the stored operands (None: node order).

    Returns:
        ``(fn, out_order)``: ``fn(x, y)`` gives the result in axis order ``out_order``
        (positions in the node order ``batch + free_x + free_y``).
    """
    ox = list(order_x) if order_x is not None else list(range(rank_x))
    oy = list(order_y) if order_y is not None else list(range(rank_y))
    posx = {a: i for i, a in enumerate(ox)}
    posy = {a: i for i, a in enumerate(oy)}
    bpairs = sorted(batch, key=lambda p: posx[p[0]])
    fx = sorted(free_x, key=lambda a: posx[a])
    fy = sorted(free_y, key=lambda a: posy[a])

    def layout_cost(cpairs):
        bx = [p[0] for p in bpairs]
        by = [p[1] for p in bpairs]
        cx = [p[0] for p in cpairs]
        cy = [p[1] for p in cpairs]
        x_n = [posx[a] for a in bx + fx + cx]
        x_t = [posx[a] for a in bx + cx + fx]
        y_n = [posy[a] for a in by + cy + fy]
        y_t = [posy[a] for a in by + fy + cy]
        ident_x, ident_y = list(range(rank_x)), list(range(rank_y))
        x_form = "N" if x_n == ident_x else ("T" if x_t == ident_x else "P")
        y_form = "N" if y_n == ident_y else ("T" if y_t == ident_y else "P")
        return (x_form == "P") + (y_form == "P"), x_form, y_form, x_n, y_n

    cand_x = sorted(contracted, key=lambda p: posx[p[0]])
    cand_y = sorted(contracted, key=lambda p: posy[p[1]])
    best = layout_cost(cand_x)
    cpairs = cand_x
    other = layout_cost(cand_y)
    if other[0] < best[0]:
        best, cpairs = other, cand_y
    _, x_form, y_form, x_perm, y_perm = best

    nb = len(bpairs)
    # Output: (B, M, N) from x@y, or (B, N, M) from (y^T @ x^T) when y carries batch-named
    # free axes and x does not (keeps data batch axes in front).
    fy_batchy = any(batchy_y[list(free_y).index(a)] for a in fy)
    fx_batchy = any(batchy_x[list(free_x).index(a)] for a in fx)
    swap = fy_batchy and not fx_batchy

    sx = [f"sx[{posx[p[0]]}]" for p in bpairs]
    sxf = [f"sx[{posx[a]}]" for a in fx]
    sxc = [f"sx[{posx[p[0]]}]" for p in cpairs]
    syf = [f"sy[{posy[a]}]" for a in fy]

    # No batch and one contracted axis that is last in x and first in y (or the matrix
    # transposes of that): ``torch.matmul`` folds x's leading axes itself, in C++.
    if _matmul_form(nb, swap, len(cpairs), rank_x, rank_y, x_form, y_form):
        xe = "x" if x_form == "N" else "x.mT"
        ye = "y" if y_form == "N" else "y.mT"
        return _finish_pair(f"    return matmul({xe}, {ye})", batch, bpairs, free_x, free_y, fx, fy)

    lines = ["def fn(x, y):"]
    need_sizes = True
    lines.append("    sx = x.shape; sy = y.shape")

    def arrange(var, form, perm, groups, first_is_k):
        # Returns an expression for var as a (B, r, c) / (r, c) matrix batch.
        expr = var
        if form == "P":
            expr = f"{expr}.permute({tuple(perm)!r})"
            form = "N"
        shape = [g for g in groups]
        if form == "T":
            shape = [groups[0], groups[2], groups[1]]
        single = all(len(g) == 1 for g in shape if g is not groups[0] or nb) and (
            len(groups[0]) == 1 if nb else True
        )
        dims = [len(g) for g in shape]
        already = (dims == [1, 1, 1]) if nb else (dims[1:] == [1, 1])
        if not already or form == "P":
            sizes = ([_prod_expr(shape[0])] if nb else []) + [
                _prod_expr(shape[1]),
                _prod_expr(shape[2]),
            ]
            expr = f"{expr}.reshape({', '.join(sizes)})"
        del single
        if form == "T":
            expr = f"{expr}.transpose(-1, -2)"
        return expr

    # x as (B, M, K); y as (B, K, N)
    x_groups = (sx, sxf, sxc)
    y_groups = ([f"sy[{posy[p[1]]}]" for p in bpairs], [f"sy[{posy[p[1]]}]" for p in cpairs], syf)
    xe = arrange("x", x_form, x_perm, x_groups, False)
    ye = arrange("y", y_form, y_perm, y_groups, True)
    mul = "bmm" if nb else "mm"
    if swap:
        lines.append(f"    r = {mul}({_transposed(ye)}, {_transposed(xe)})")
        out_sizes = sx + syf + sxf
        out_axes_x, out_axes_y = fy, fx
    else:
        lines.append(f"    r = {mul}({xe}, {ye})")
        out_sizes = sx + sxf + syf
        out_axes_x, out_axes_y = fx, fy
    out_dims = (nb, len(out_axes_x), len(out_axes_y))
    if out_dims not in ((1, 1, 1), (0, 1, 1)):
        lines.append(
            f"    return r.reshape(({', '.join(out_sizes)}{',' if len(out_sizes) == 1 else ''}))"
        )
    else:
        lines.append("    return r")
    del need_sizes

    out_order = _out_order(batch, bpairs, free_x, free_y, fx, fy, swap)
    if not any("sx[" in line or "sy[" in line for line in lines[2:]):
        del lines[1]  # sizes unused: skip reading them
    src = "\n".join(lines)
    fn = _compile(("pair", src), src)
    if len(lines) == 3 and lines[1] in ("    r = bmm(x, y)", "    r = mm(x, y)"):
        fn.inline = torch.bmm if "bmm" in lines[1] else torch.mm
    return fn, out_order


def _transposed(expr: str) -> str:
    """``expr`` with its last two axes swapped (undoing a trailing transpose)."""
    tail = ".transpose(-1, -2)"
    if expr.endswith(tail):
        return expr[: -len(tail)]
    return f"({expr}){tail}" if not expr.isidentifier() else f"{expr}{tail}"


def _matmul_form(
    nb: int, swap: bool, nc: int, rank_x: int, rank_y: int, x_form: str, y_form: str
) -> bool:
    """Whether ``torch.matmul(x', y')`` (x', y' = x, y or their ``.mT``) is the product.

    True without batch pairs, for one contracted axis, x stored ``(free..., k)`` (or a
    matrix ``(k, m)``) and y stored ``(k,)``, ``(k, n)`` or ``(n, k)``.
    """
    if nb or swap or nc != 1:
        return False
    x_ok = x_form == "N" or (x_form == "T" and rank_x == 2)
    y_ok = (y_form == "N" and rank_y <= 2) or (y_form == "T" and rank_y == 2)
    return x_ok and y_ok


def _out_order(batch, bpairs, free_x, free_y, fx, fy, swap) -> tuple[int, ...]:
    """Output axis order in node positions (node order: batch + free_x + free_y)."""
    nb = len(batch)
    b_sorted = sorted(p[0] for p in batch)
    pos_b = {a: i for i, a in enumerate(b_sorted)}
    pos_fx = {a: nb + i for i, a in enumerate(free_x)}
    pos_fy = {a: nb + len(free_x) + i for i, a in enumerate(free_y)}
    out_order = [pos_b[p[0]] for p in bpairs]
    if swap:
        out_order += [pos_fy[a] for a in fy] + [pos_fx[a] for a in fx]
    else:
        out_order += [pos_fx[a] for a in fx] + [pos_fy[a] for a in fy]
    return tuple(out_order)


def _finish_pair(line, batch, bpairs, free_x, free_y, fx, fy) -> tuple[Callable, tuple]:
    src = "def fn(x, y):\n" + line
    fn = _compile(("pair", src), src)
    if line == "    return matmul(x, y)":
        fn.inline = torch.matmul
    return fn, _out_order(batch, bpairs, free_x, free_y, fx, fy, False)


def plan_trace(
    rank: int, pairs: Sequence[tuple[int, int]], order: Sequence[int] | None = None
) -> Callable:
    """Plan the trace of a node over axis ``pairs``; output in node order of the rest.

    One ``diagonal`` per pair (each moves the pair's diagonal to the end) and one ``sum``
    over those trailing axes, then a permute only if the stored order needs one. (This is
    what ``einsum('abb->a')`` computes, without its equation parsing on every call.)
    """
    o = list(order) if order is not None else list(range(rank))
    pairs = list(dict.fromkeys((i, j) for i, j in pairs))  # an edge listed twice
    axes = [a for p in pairs for a in p]
    if len(set(axes)) != len(axes):  # chained pairs: one multi-axis diagonal
        return _einsum_trace(rank, pairs, o)
    labels: list = list(o)  # node axis held by each stored position; None: a diagonal
    expr = "x"
    for i, j in pairs:
        p, q = labels.index(i), labels.index(j)
        expr = f"{expr}.diagonal(0, {p}, {q})"
        labels = [a for k, a in enumerate(labels) if k not in (p, q)] + [None]
    k = len(pairs)
    if k:
        dims = "-1" if k == 1 else repr(tuple(range(-k, 0)))
        expr = f"{expr}.sum({dims})"
    rest = labels[: len(labels) - k]
    want = sorted(rest)
    if rest != want:
        expr = f"{expr}.permute({tuple(rest.index(a) for a in want)!r})"
    # Traces record both operands (node1 is node2); only the first is read.
    src = f"def fn(x, *_):\n    return {expr}"
    return _compile(("trace", src), src)


def _einsum_trace(rank: int, pairs: Sequence[tuple[int, int]], order: list[int]) -> Callable:
    letters = [chr(ord("a") + i) if i < 26 else chr(ord("A") + i - 26) for i in range(rank)]
    for i, j in pairs:
        letters[j] = letters[i]
    traced = {a for p in pairs for a in p}
    eq = "".join(letters[a] for a in order) + "->"
    eq += "".join(letters[a] for a in range(rank) if a not in traced)
    src = f"def fn(x, *_):\n    return torch.einsum({eq!r}, x)"
    return _compile(("trace", src), src)


class PairKernel(Kernel):
    """A planned pairwise contraction (see :func:`plan_pair`); pickles by its plan.

    Args:
        rank_x, rank_y, batch, contracted, free_x, free_y, batchy_x, batchy_y: As in
            :func:`plan_pair`.
        orders: Axis orders the operands are stored in (None: node order).
    """

    def __init__(
        self,
        rank_x: int,
        rank_y: int,
        batch: Sequence[tuple[int, int]],
        contracted: Sequence[tuple[int, int]],
        free_x: Sequence[int],
        free_y: Sequence[int],
        batchy_x: Sequence[bool],
        batchy_y: Sequence[bool],
        orders: tuple[Order, Order] = (None, None),
    ) -> None:
        self.spec = (rank_x, rank_y, batch, contracted, free_x, free_y, batchy_x, batchy_y)
        self.orders = tuple(orders)
        fn, out = plan_pair(*self.spec, *self.orders)
        super().__init__(fn, out_orders=(out,), name="contract_edges")
        self.inline = getattr(fn, "inline", None)

    def relayout(self, orders: Sequence[Order]) -> Kernel:
        return PairKernel(*self.spec, orders=tuple(orders))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_pair, (self.spec, self.orders))


def _rebuild_pair(spec: tuple, orders: tuple) -> PairKernel:
    return PairKernel(*spec, orders=orders)


class TraceKernel(Kernel):
    """The trace of a node over axis ``pairs`` (see :func:`plan_trace`)."""

    def __init__(self, rank: int, pairs: Sequence[tuple[int, int]], order: Order = None) -> None:
        self.spec = (rank, tuple(pairs), order)
        super().__init__(plan_trace(rank, pairs, order), name="trace")

    def relayout(self, orders: Sequence[Order]) -> Kernel:
        return TraceKernel(self.spec[0], self.spec[1], orders[0])

    def __reduce__(self) -> tuple[Any, ...]:
        return (TraceKernel, self.spec)
