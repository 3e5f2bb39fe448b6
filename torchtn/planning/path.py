"""Cached einsum plans compiled to straight-line torch code.

An :class:`EinsumPlan` is made once per ``(equation, shapes, optimize)``: the
equation is validated, opt_einsum picks the pairwise contraction order, and the
order is compiled into a small Python function of direct torch calls
(``permute``/``reshape`` views, ``mm``/``bmm``, broadcast ``*``, ``diagonal``,
``sum``) with every permutation and reshape target baked in as a constant.
Calling the plan runs only that function: no parsing, no opt_einsum, no shape
arithmetic. Because all sizes are constants, a plan serves one set of shapes;
:func:`get_plan` caches plans (LRU, :data:`CACHE_SIZE` entries) so a new batch
size costs one extra plan and later calls are lookups.

Pairwise contractions use ``mm``/``bmm`` on ``(batch, rows, inner)`` views,
choosing operand roles and axis orders so that contiguous inputs need no copy.
Pairs that share no summed label become one broadcast multiplication, emitted
in the axis order its consumer wants. On small tensor-network contractions this
runs about 2x faster than ``torch.einsum`` for two operands and 5-10x for three
or four (``torch.einsum`` parses, and re-plans with opt_einsum, on every call);
see ``benchmarks/bench_planning.py``.

Example:
    >>> import torch
    >>> a, b = torch.randn(5, 2, 3), torch.randn(5, 3, 4)
    >>> plan = get_plan("bij,bjk->bik", (a.shape, b.shape))
    >>> torch.allclose(plan(a, b), torch.einsum("bij,bjk->bik", a, b))
    True
    >>> plan is get_plan("bij,bjk->bik", ((5, 2, 3), (5, 3, 4)))
    True
"""

from __future__ import annotations

import functools
import operator
import random
from collections.abc import Callable, Sequence
from typing import Any

import opt_einsum
import torch

from torchtn._utils import prod
from torchtn.errors import TNError, TNTypeError, TNValueError
from torchtn.planning.cost import PlanInfo

__all__ = [
    "CACHE_SIZE",
    "EinsumPlan",
    "get_plan",
    "contract",
    "estimate",
    "clear_cache",
    "cache_info",
]

#: Maximum number of plans kept by :func:`get_plan`.
CACHE_SIZE = 1024

_Shapes = tuple[tuple[int, ...], ...]

# Names the generated code may use besides its arguments.
_NAMESPACE: dict[str, Any] = {"bmm": torch.bmm, "mm": torch.mm}

# Relative cost of a copy per element, in units of one dispatched torch call.
_COPY_COST_PER_ELEMENT = 1 / 2000

# opt_einsum's 'auto' searches exhaustively (optimal/branch) up to 14 operands and
# is plain greedy beyond; there a path whose largest intermediate exceeds both
# limits below gets a second, random-greedy search (see _find_path).
_AUTO_OPTIMAL_MAX = 14
_BLOWUP_MIN_SIZE = 2**16
_BLOWUP_FACTOR = 64
_FALLBACK_REPEATS = 16

# Generated sources longer than this are not attached to runtime errors.
_MAX_NOTE_LINES = 30


# ------------------------------------------------------------------ parsing


def _normalize_shapes(shapes: object) -> _Shapes:
    try:
        return tuple(tuple(operator.index(d) for d in shape) for shape in shapes)  # type: ignore[union-attr]
    except TypeError:
        raise TNTypeError(
            f"`shapes` should be a sequence of shapes (sequences of ints), got {shapes!r}"
        ) from None


def _parse(equation: object, shapes: _Shapes) -> tuple[tuple[str, ...], str, dict[str, int]]:
    """Validate ``equation`` against ``shapes``.

    Returns:
        The input terms and the output term (whitespace removed) and the size of
        every label (the largest, where size-1 axes broadcast).
    """
    if not isinstance(equation, str):
        raise TNTypeError(f"einsum `equation` should be a str, got {type(equation).__name__}")
    eq = "".join(equation.split())
    if eq.count("->") != 1:
        raise TNValueError(
            f"einsum equation {equation!r} should contain '->' exactly once "
            f"(explicit output), found it {eq.count('->')} times"
        )
    lhs, output = eq.split("->")
    terms = tuple(lhs.split(","))
    for term in (*terms, output):
        for char in term:
            if char in ".->,":
                what = "ellipsis ('...') is not supported" if char == "." else "invalid character"
                raise TNValueError(
                    f"einsum equation {equation!r}: {what} {char!r} in term {term!r}"
                )
    if len(terms) != len(shapes):
        raise TNValueError(
            f"einsum equation {equation!r} has {len(terms)} input terms "
            f"but {len(shapes)} operands were given"
        )
    sizes: dict[str, int] = {}
    first: dict[str, int] = {}  # label -> operand that set its size
    for i, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        if len(term) != len(shape):
            raise TNValueError(
                f"einsum equation {equation!r}: term {i} {term!r} has {len(term)} labels "
                f"but operand {i} has shape {shape} (rank {len(shape)})"
            )
        for k, (label, size) in enumerate(zip(term, shape, strict=True)):
            if size < 0:
                raise TNValueError(f"operand {i} has a negative size in shape {shape}")
            pos = term.index(label)
            if pos != k and shape[pos] != size:
                raise TNValueError(
                    f"einsum equation {equation!r}: label {label!r} repeats in term {i} "
                    f"{term!r} with sizes {shape[pos]} and {size} (a diagonal needs equal sizes)"
                )
            known = sizes.get(label)
            if known is None or known == 1:
                sizes[label] = size
                if known is None or size != 1:
                    first[label] = i
            elif size not in (1, known):
                j = first[label]
                raise TNValueError(
                    f"einsum equation {equation!r}: label {label!r} has size {size} in term "
                    f"{i} {term!r} but size {known} in term {j} {terms[j]!r}"
                )
    if len(set(output)) != len(output):
        raise TNValueError(f"einsum equation {equation!r}: output term {output!r} repeats a label")
    for label in output:
        if label not in sizes:
            raise TNValueError(
                f"einsum equation {equation!r}: output label {label!r} "
                "does not appear in any input term"
            )
    return terms, output, sizes


# ------------------------------------------------------------------ compiling


class _Operand:
    """An intermediate of the generated code: variable name and axis labels.

    A *pending* operand (``factors`` set, ``var`` empty) is a broadcast product
    not emitted yet: it is materialised in whatever axis order its consumer
    wants, since both factors can be brought to any order as views.
    """

    __slots__ = ("var", "labels", "factors")

    def __init__(
        self, var: str, labels: Sequence[str], factors: tuple[_Operand, _Operand] | None = None
    ) -> None:
        self.var = var
        self.labels = tuple(labels)
        self.factors = factors


def _perm(labels: Sequence[str], target: Sequence[str]) -> tuple[int, ...]:
    return tuple(labels.index(label) for label in target)


def _is_identity(perm: Sequence[int]) -> bool:
    return all(i == p for i, p in enumerate(perm))


class _Compiler:
    """Turns a validated equation and an opt_einsum path into torch source code.

    Invariant: after :meth:`_prepare`, every operand's shape is exactly the sizes
    of its labels, and a label outside the output is held by at least two
    operands (one-operand labels are summed as early as possible).
    """

    def __init__(
        self, terms: Sequence[str], output: str, sizes: dict[str, int], shapes: _Shapes
    ) -> None:
        self.terms = terms
        self.output = tuple(output)
        self.sizes = sizes
        self.shapes = shapes
        self.lines: list[str] = []
        self.kinds: list[str] = []
        self.holders = {
            label: sum(label in term for term in terms) for term in terms for label in term
        }

    def _emit(self, kind: str, expr: str) -> str:
        var = f"x{len(self.lines)}"
        self.lines.append(f"    {var} = {expr}")
        self.kinds.append(kind)
        return var

    def _shape(self, labels: Sequence[str]) -> tuple[int, ...]:
        return tuple(self.sizes[label] for label in labels)

    def compile(self, path: Sequence[Sequence[int]]) -> str:
        """Return the source of ``_einsum_plan(t0, t1, ...)`` following ``path``."""
        ops = [self._prepare(i, term) for i, term in enumerate(self.terms)]
        for step in path:
            if not step or len(set(step)) != len(step) or not all(0 <= k < len(ops) for k in step):
                raise TNValueError(f"invalid path step {step} with {len(ops)} operands left")
            picked = [ops[k] for k in sorted(step)]
            for k in sorted(step, reverse=True):
                del ops[k]
            needed = set(self.output).union(*(op.labels for op in ops))
            acc = picked[0]
            for j in range(1, len(picked)):
                keep = needed.union(*(op.labels for op in picked[j + 1 :]))
                acc = self._pair(acc, picked[j], keep)
            ops.append(acc)
        if len(ops) != 1:
            raise TNValueError(f"path {tuple(path)} leaves {len(ops)} operands, not 1")
        (result,) = ops
        if result.factors is not None:
            var = self._emit_mul(result, self.output)
        elif result.labels != self.output:
            var = self._emit(
                "permute", f"{result.var}.permute({_perm(result.labels, self.output)})"
            )
        elif not self.lines:
            # A new tensor object, as torch.einsum returns, never the input itself.
            var = self._emit("alias", f"{result.var}.view_as({result.var})")
        else:
            var = result.var
        args = ", ".join(f"t{i}" for i in range(len(self.terms)))
        return f"def _einsum_plan({args}):\n" + "\n".join(self.lines) + f"\n    return {var}\n"

    # -------------------------------------------------------- single operands

    def _prepare(self, i: int, term: str) -> _Operand:
        """Broadcast size-1 axes, take diagonals of repeated labels, sum private labels."""
        var, labels = f"t{i}", list(term)
        full = self._shape(labels)
        if full != self.shapes[i]:
            var = self._emit("expand", f"{var}.expand({full})")
        while len(set(labels)) != len(labels):
            pos2 = next(k for k, label in enumerate(labels) if labels.index(label) != k)
            label = labels[pos2]
            pos1 = labels.index(label)
            # diagonal() drops both axes and appends the diagonal as the last one.
            var = self._emit("diagonal", f"{var}.diagonal(0, {pos1}, {pos2})")
            labels = [x for k, x in enumerate(labels) if k not in (pos1, pos2)] + [label]
        return self._sum_private(_Operand(var, labels), set(self.output), self.holders)

    def _sum_private(self, op: _Operand, keep: set[str], holders: dict[str, int]) -> _Operand:
        """Sum the axes whose labels are outside ``keep`` and held by one operand."""
        drop = tuple(k for k, lab in enumerate(op.labels) if lab not in keep and holders[lab] < 2)
        if not drop:
            return op
        op = self._materialize(op)
        var = self._emit("sum", f"{op.var}.sum({drop})")
        return _Operand(var, [lab for k, lab in enumerate(op.labels) if k not in drop])

    def _materialize(self, op: _Operand) -> _Operand:
        if op.factors is None:
            return op
        return _Operand(self._emit_mul(op, op.labels), op.labels)

    # -------------------------------------------------------------- pairs

    def _pair(self, a: _Operand, b: _Operand, keep: set[str]) -> _Operand:
        # Labels needed neither by the other operand nor later would be summed
        # here; the class invariant says there are none, this keeps it safe.
        shared = set(a.labels) & set(b.labels)
        holders = {**dict.fromkeys(a.labels + b.labels, 1), **dict.fromkeys(shared, 2)}
        a = self._sum_private(a, keep, holders)
        b = self._sum_private(b, keep, holders)
        contracted = shared - keep
        if contracted:
            return self._matmul(a, b, shared & keep, contracted)
        # No summed label: a broadcast product, emitted when its consumer picks
        # the axis order (both factors then enter as views).
        a, b = self._materialize(a), self._materialize(b)
        labels = [lab for lab in a.labels if lab in shared]
        labels += [lab for lab in a.labels if lab not in shared]
        labels += [lab for lab in b.labels if lab not in shared]
        return _Operand("", labels, (a, b))

    def _emit_mul(self, op: _Operand, order: Sequence[str]) -> str:
        """Emit the pending product ``op`` with its axes in ``order``."""
        assert op.factors is not None
        exprs = []
        for factor in op.factors:
            target = [lab for lab in order if lab in factor.labels]
            expr = factor.var
            perm = _perm(factor.labels, target)
            if not _is_identity(perm):
                expr = f"{expr}.permute({perm})"
            # Broadcasting aligns trailing axes: leading missing labels need no axis.
            present = [lab in factor.labels for lab in order]
            start = present.index(True) if any(present) else len(order)
            view = tuple(
                self.sizes[lab] if has else 1 for lab, has in zip(order, present, strict=True)
            )[start:]
            if view != self._shape(target):
                expr = f"{expr}.reshape({view})"
            exprs.append(expr)
        return self._emit("mul", " * ".join(exprs))

    def _layout_cost(self, op: _Operand, target: Sequence[str]) -> float:
        """Estimated cost of bringing ``op`` (assumed contiguous) into ``target`` order."""
        if op.factors is not None:
            return 0.0  # emitted directly in the target order
        perm = _perm(op.labels, target)
        if _is_identity(perm):
            return 0.0
        moved = [p for p in perm if self.sizes[op.labels[p]] != 1]
        if moved == sorted(moved):  # only size-1 axes move: still a view
            return 1.0
        return 1.0 + prod(self._shape(op.labels)) * _COPY_COST_PER_ELEMENT

    def _matmul(self, a: _Operand, b: _Operand, batch: set[str], contracted: set[str]) -> _Operand:
        """``(batch, rows, inner) @ (batch, inner, cols)`` via ``mm``/``bmm``.

        Tries both operand roles, both label orders for the batch and the summed
        groups, and plain or transposed (``.mT``, no copy) layouts, and keeps the
        cheapest by :meth:`_layout_cost`. A result already in output order comes
        back contiguous, so that order wins ties.
        """
        best: tuple[float, tuple[Any, ...]] | None = None
        for left, right in ((a, b), (b, a)):
            rows = [lab for lab in left.labels if lab not in right.labels]
            cols = [lab for lab in right.labels if lab not in left.labels]
            for batch_src in (left, right):
                bt = [lab for lab in batch_src.labels if lab in batch]
                for inner_src in (left, right):
                    inner = [lab for lab in inner_src.labels if lab in contracted]
                    for left_t in (False, True):
                        left_order = bt + (inner + rows if left_t else rows + inner)
                        for right_t in (False, True):
                            right_order = bt + (cols + inner if right_t else inner + cols)
                            cost = (
                                self._layout_cost(left, left_order)
                                + self._layout_cost(right, right_order)
                                + 0.5 * (left_t + right_t)
                                + 0.25 * (tuple(bt + rows + cols) != self.output)
                            )
                            if best is None or cost < best[0]:
                                choice = (left, right, bt, rows, inner, cols, left_t, right_t)
                                best = (cost, choice)
        assert best is not None
        left, right, bt, rows, inner, cols, left_t, right_t = best[1]
        lead = (prod(self._shape(bt)),) if bt else ()
        n_rows, n_inner, n_cols = (prod(self._shape(g)) for g in (rows, inner, cols))
        left_order = bt + (inner + rows if left_t else rows + inner)
        right_order = bt + (cols + inner if right_t else inner + cols)
        left_view = lead + ((n_inner, n_rows) if left_t else (n_rows, n_inner))
        right_view = lead + ((n_cols, n_inner) if right_t else (n_inner, n_cols))
        lhs = self._matrix_expr(left, left_order, left_view, left_t)
        rhs = self._matrix_expr(right, right_order, right_view, right_t)
        fn = "bmm" if bt else "mm"
        expr = f"{fn}({lhs}, {rhs})"
        result = bt + rows + cols
        result_shape = self._shape(result)
        if result_shape != lead + (n_rows, n_cols):
            expr = f"{expr}.reshape({result_shape})"
        return _Operand(self._emit(fn, expr), result)

    def _matrix_expr(
        self, op: _Operand, order: Sequence[str], view: tuple[int, ...], transpose: bool
    ) -> str:
        if op.factors is not None:
            expr = self._emit_mul(op, order)
        else:
            expr = op.var
            perm = _perm(op.labels, order)
            if not _is_identity(perm):
                expr = f"{expr}.permute({perm})"
        if self._shape(order) != view:
            expr = f"{expr}.reshape({view})"
        return f"{expr}.mT" if transpose else expr


# ------------------------------------------------------------------ plans


def _contract_path(equation: str, shapes: _Shapes, optimize: Any) -> tuple[Any, Any]:
    try:
        return opt_einsum.contract_path(equation, *shapes, shapes=True, optimize=optimize)
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise TNValueError(
            f"opt_einsum found no path for {equation!r} with shapes {shapes} and "
            f"optimize={optimize!r}: {err}"
        ) from None


def _find_path(equation: str, shapes: _Shapes, optimize: Any) -> tuple[Any, Any]:
    """opt_einsum's path, with a second opinion where ``'auto'`` goes greedy and blows up.

    ``'auto'`` uses plain greedy from 15 operands on, which can be exponentially bad
    on tensor networks with a hyperedge (an MPS whose data nodes all share the batch
    label gets intermediates of ``d**n`` elements). When the greedy intermediate is
    far larger than every operand, a seeded random-greedy search is also run and the
    path with fewer flops is kept.
    """
    path, info = _contract_path(equation, shapes, optimize)
    if not (isinstance(optimize, str) and optimize == "auto" and len(shapes) > _AUTO_OPTIMAL_MAX):
        return path, info
    output_size = prod(info.size_dict[label] for label in info.output_subscript)
    biggest = max([prod(s) for s in shapes] + [output_size])
    if info.largest_intermediate <= max(_BLOWUP_MIN_SIZE, _BLOWUP_FACTOR * biggest):
        return path, info
    # RandomGreedy reseeds the global `random` module (deterministically); keep the
    # caller's state.
    state = random.getstate()
    try:
        alt_path, alt_info = _contract_path(
            equation, shapes, opt_einsum.RandomGreedy(max_repeats=_FALLBACK_REPEATS)
        )
    finally:
        random.setstate(state)
    return (alt_path, alt_info) if alt_info.opt_cost < info.opt_cost else (path, info)


class EinsumPlan:
    """A validated, path-optimised einsum compiled to direct torch calls.

    Args:
        equation: Explicit einsum equation (``'ij,jk->ik'``). Labels are single
            characters other than ``. , - >`` (letters, or any symbol
            ``opt_einsum.get_symbol`` produces); whitespace is ignored; a label
            repeated inside one term takes a diagonal; size-1 axes broadcast.
        shapes: One shape per operand. The plan only accepts these shapes.
        optimize: Any ``optimize`` value of ``opt_einsum.contract_path``
            (``'auto'``, ``'greedy'``, ``'optimal'``, an explicit path, ...).
            With ``'auto'`` on more than 14 operands, a greedy path whose
            intermediates explode is compared with a seeded random-greedy one.

    Attributes:
        equation: The equation as given.
        shapes: The operand shapes, as tuples of ints.
        optimize: The ``optimize`` argument.
        path: opt_einsum's contraction path.
        info: The :class:`~torchtn.planning.cost.PlanInfo` cost report.
        source: The generated Python source, for inspection.
        kinds: The torch operation of each generated line (``'bmm'``, ``'mm'``,
            ``'mul'``, ``'permute'``, ``'diagonal'``, ``'sum'``, ``'expand'``,
            ``'alias'``).
        execute: The compiled function; ``execute(*tensors)`` skips the operand
            checks of ``__call__`` (for callers that looked the plan up by shape).

    Raises:
        TNTypeError: If ``equation`` is not a str or ``shapes`` are not shapes.
        TNValueError: If the equation is malformed or does not match ``shapes``.

    Example:
        >>> plan = EinsumPlan("ij,jk->ik", [(2, 3), (3, 4)])
        >>> plan.kinds
        ('mm',)
        >>> plan(torch.ones(2, 3), torch.ones(3, 4))
        tensor([[3., 3., 3., 3.],
                [3., 3., 3., 3.]])
    """

    __slots__ = ("equation", "shapes", "optimize", "path", "info", "source", "kinds", "execute")

    equation: str
    shapes: _Shapes
    optimize: Any
    path: tuple[tuple[int, ...], ...]
    info: PlanInfo
    source: str
    kinds: tuple[str, ...]
    execute: Callable[..., torch.Tensor]

    def __init__(
        self, equation: str, shapes: Sequence[Sequence[int]], optimize: Any = "auto"
    ) -> None:
        norm_shapes = _normalize_shapes(shapes)
        terms, output, sizes = _parse(equation, norm_shapes)
        clean = ",".join(terms) + "->" + output
        path, path_info = _find_path(clean, norm_shapes, optimize)
        self.equation = equation
        self.shapes = norm_shapes
        self.optimize = optimize
        self.info = PlanInfo.from_path_info(clean, norm_shapes, path_info)
        self.path = self.info.path
        compiler = _Compiler(terms, output, sizes, norm_shapes)
        self.source = compiler.compile(self.path)
        self.kinds = tuple(compiler.kinds)
        namespace = dict(_NAMESPACE)
        exec(compile(self.source, f"<einsum plan {clean}>", "exec"), namespace)
        self.execute = namespace["_einsum_plan"]

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        """Contract ``tensors`` (which must have the plan's shapes).

        Args:
            *tensors: One tensor per input term, with shapes equal to ``self.shapes``.

        Returns:
            The contracted tensor, axes in output-term order.

        Raises:
            TNValueError: If the number or the shapes of ``tensors`` differ from
                the plan's.
            TNTypeError: If an operand is not a tensor.
        """
        if len(tensors) != len(self.shapes):
            raise TNValueError(
                f"einsum plan {self.equation!r} takes {len(self.shapes)} operands, "
                f"got {len(tensors)}"
            )
        try:
            shapes = tuple([t.shape for t in tensors])
        except AttributeError:
            raise TNTypeError(
                f"einsum plan {self.equation!r} takes tensors, got "
                f"{[type(t).__name__ for t in tensors]}"
            ) from None
        if shapes != self.shapes:
            raise TNValueError(
                f"einsum plan {self.equation!r} was made for shapes {self.shapes}, "
                f"got {tuple(tuple(s) for s in shapes)}"
            )
        try:
            return self.execute(*tensors)
        except RuntimeError as err:
            if hasattr(err, "add_note"):  # Python >= 3.11
                source, n_lines = self.source, self.source.count("\n")
                if n_lines > _MAX_NOTE_LINES:
                    source = f"({n_lines} lines, see `plan.source`)"
                err.add_note(f"(while running einsum plan {self.equation!r}:\n{source})")
            raise

    def __repr__(self) -> str:
        return (
            f"EinsumPlan({self.equation!r}, shapes={self.shapes}, "
            f"kinds={self.kinds}, flops={self.info.flops:,})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.equation, self.shapes, self.optimize))

    def __copy__(self) -> EinsumPlan:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> EinsumPlan:
        return self  # immutable


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached_plan(equation: str, shapes: Any, optimize: Any) -> EinsumPlan:
    return EinsumPlan(equation, shapes, optimize)


def _hashable_optimize(optimize: Any) -> Any:
    if isinstance(optimize, (list, tuple)):  # an explicit path
        return tuple(tuple(step) for step in optimize)
    return optimize


def get_plan(equation: str, shapes: Sequence[Sequence[int]], optimize: Any = "auto") -> EinsumPlan:
    """The cached :class:`EinsumPlan` for ``(equation, shapes, optimize)``.

    Plans live in an LRU cache of :data:`CACHE_SIZE` entries keyed by the three
    arguments; equal shapes given as ``torch.Size``, tuples or lists share one
    entry. A hit costs one hash of the key.

    Args:
        equation: Explicit einsum equation.
        shapes: One shape per operand (``torch.Size`` or sequences of ints).
        optimize: Any ``optimize`` value of ``opt_einsum.contract_path``.

    Returns:
        The plan; the same object for repeated calls while it stays cached.

    Raises:
        TNTypeError: If ``equation`` or ``shapes`` have the wrong type.
        TNValueError: If the equation is malformed or does not match ``shapes``.
    """
    try:
        return _cached_plan(equation, shapes, optimize)
    except TypeError as err:  # unhashable key (lists), not an error of the plan
        if isinstance(err, TNError):
            raise
    key_shapes, key_optimize = _normalize_shapes(shapes), _hashable_optimize(optimize)
    try:
        return _cached_plan(equation, key_shapes, key_optimize)
    except TypeError as err:
        if isinstance(err, TNError):
            raise
    return EinsumPlan(equation, key_shapes, optimize)  # optimize cannot be hashed


def contract(equation: str, *tensors: torch.Tensor, optimize: Any = "auto") -> torch.Tensor:
    """Contract ``tensors`` following ``equation`` with a cached plan.

    Same as ``get_plan(equation, [t.shape for t in tensors], optimize)(*tensors)``.

    Args:
        equation: Explicit einsum equation, e.g. ``'bij,bjk->bik'``.
        *tensors: One tensor per input term.
        optimize: Any ``optimize`` value of ``opt_einsum.contract_path``.

    Returns:
        The contracted tensor.

    Raises:
        TNTypeError: If an operand is not a tensor.
        TNValueError: If the equation is malformed or does not match the tensors.

    Example:
        >>> contract("i,i->", torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))
        tensor(11.)
    """
    try:
        shapes = tuple([t.shape for t in tensors])
    except AttributeError:
        raise TNTypeError(
            f"einsum operands should be tensors, got {[type(t).__name__ for t in tensors]}"
        ) from None
    try:
        plan = _cached_plan(equation, shapes, optimize)
    except TypeError as err:  # an unhashable `optimize`: let get_plan sort it out
        if isinstance(err, TNError):
            raise
        plan = get_plan(equation, shapes, optimize)
    return plan.execute(*tensors)


def estimate(equation: str, shapes: Sequence[Sequence[int]], optimize: Any = "auto") -> PlanInfo:
    """Cost of contracting ``equation`` on operands of the given shapes.

    Uses (and fills) the plan cache of :func:`get_plan`.

    Args:
        equation: Explicit einsum equation, e.g. ``'ij,jk->ik'``.
        shapes: One shape per operand.
        optimize: Any ``optimize`` value accepted by ``opt_einsum.contract_path``.

    Returns:
        The :class:`~torchtn.planning.cost.PlanInfo` of the plan.

    Raises:
        TNValueError: If the equation does not match the shapes.

    Example:
        >>> info = estimate("abc,bcd,de->ae", [(2, 3, 4), (3, 4, 5), (5, 6)])
        >>> info.flops, info.largest_intermediate
        (360, 12)
    """
    return get_plan(equation, shapes, optimize).info


def clear_cache() -> None:
    """Empty the plan cache of :func:`get_plan`."""
    _cached_plan.cache_clear()


def cache_info() -> Any:
    """Hits, misses and size of the plan cache (``functools`` ``CacheInfo``)."""
    return _cached_plan.cache_info()
