"""Plans for contracting a whole network at once: path search, slicing, a printable report.

:func:`plan_network` turns ``(inputs, output, sizes)`` (one label string per tensor,
single-character labels as :func:`opt_einsum.get_symbol` makes them) into a
:class:`ContractionPlan`: the pairwise path, the labels to slice (when a memory limit
asks for it) and the costs. It works on labels and ints only; running a plan is the
job of :mod:`torchtn.ops.network_contraction` (through the compiled einsum plans of
:mod:`torchtn.planning.path`).

Path search with ``optimize='auto'``:

* up to :data:`AUTO_OPTIMAL_MAX` tensors, opt_einsum's exhaustive ``'optimal'``;
* up to :data:`AUTO_DP_MAX`, opt_einsum's dynamic programming ``'dp'`` (also optimal
  for the flop count, far faster on networks);
* beyond, fast searches: opt_einsum's greedy, a seeded random-greedy (16 repeats),
  the same after absorbing every pendant tensor (data and boundary vectors) into its
  neighbour, and, when cotengra is installed (``pip install torchtn[cotengra]``),
  cotengra's hyper-optimiser over greedy trials (at most 16 repeats or 2 s); each path
  is improved by subtree reconfiguration (:mod:`torchtn.planning.reconfigure`: small
  pieces of the contraction tree re-solved exactly), the cheapest in flops is
  reconfigured once more with larger pieces and kept. Greedy searches
  alone are myopic on chains and trees whose sites carry batched data; the
  reconfiguration brings them to within a few percent of the hand-written orders.

Plans are cached (LRU, :data:`NETWORK_CACHE_SIZE` entries) by the network's structure
and sizes ``(inputs, output, sizes, optimize, memory_limit)``, so re-planning a network
with the same shapes, or another network with the same structure, is a lookup.
"""

from __future__ import annotations

import functools
import importlib.util
import random
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import opt_einsum

from torchtn.errors import TNTypeError, TNValueError
from torchtn.planning.cost import PathCosts, path_costs
from torchtn.planning.reconfigure import SUBTREE_SIZE, reconfigure_path
from torchtn.planning.slicing import choose_slices, sliced_sizes

__all__ = [
    "AUTO_DP_MAX",
    "AUTO_OPTIMAL_MAX",
    "NETWORK_CACHE_SIZE",
    "OPTIMIZERS",
    "ContractionPlan",
    "cotengra_available",
    "find_path",
    "plan_network",
    "clear_network_cache",
    "network_cache_info",
]

#: Largest number of tensors searched exhaustively by ``optimize='auto'``.
AUTO_OPTIMAL_MAX = 4
#: Largest number of tensors searched by dynamic programming with ``optimize='auto'``.
AUTO_DP_MAX = 12
#: Maximum number of plans kept by :func:`plan_network`.
NETWORK_CACHE_SIZE = 256

#: Named path optimisers accepted by ``optimize``.
OPTIMIZERS = ("auto", "optimal", "dp", "greedy", "random-greedy", "branch-2", "cotengra")

# Budget of the randomised searches (beyond AUTO_DP_MAX tensors).
_RANDOM_GREEDY_REPEATS = 16
_COTENGRA_MAX_REPEATS = 16
_COTENGRA_MAX_TIME = 2.0
# Subtree reconfiguration of the candidates (reconfigure.py): frontier sizes, sweeps and
# a time limit that only very large networks reach (it makes the result depend on the
# machine's speed; below it, plans are reproducible except for cotengra's part).
_RECONF_LARGE_SIZE = 7
_RECONF_SWEEPS = 3
_RECONF_MAX_TIME = 10.0


def cotengra_available() -> bool:
    """Whether cotengra is installed (the ``torchtn[cotengra]`` extra)."""
    return importlib.util.find_spec("cotengra") is not None


# ------------------------------------------------------------------ path search


def _equation(inputs: Sequence[str], output: str) -> str:
    return ",".join(inputs) + "->" + output


def _shapes(inputs: Sequence[str], sizes: Mapping[str, int]) -> list[tuple[int, ...]]:
    return [tuple(sizes[label] for label in term) for term in inputs]


def _opt_einsum_path(
    inputs: Sequence[str], output: str, sizes: Mapping[str, int], optimize: Any
) -> tuple[tuple[int, ...], ...]:
    # RandomGreedy reseeds the global `random` module; keep the caller's state.
    state = random.getstate()
    try:
        path, _ = opt_einsum.contract_path(
            _equation(inputs, output), *_shapes(inputs, sizes), shapes=True, optimize=optimize
        )
    finally:
        random.setstate(state)
    return tuple(tuple(int(i) for i in step) for step in path)


def _cotengra_path(
    inputs: Sequence[str], output: str, sizes: Mapping[str, int], optimizer: Any = None
) -> tuple[tuple[int, ...], ...]:
    with warnings.catch_warnings():
        # cotengra warns at import and search time about optional accelerators
        # (kahypar, optuna) it falls back without.
        warnings.simplefilter("ignore")
        import cotengra

        if optimizer is None:
            # Greedy trials with tuned hyper-parameters: on chains, trees and grids they
            # match cotengra's full default search at a fraction of its time, which can
            # reach minutes on a few hundred tensors without kahypar.
            optimizer = cotengra.HyperOptimizer(
                methods=["greedy"],
                max_repeats=_COTENGRA_MAX_REPEATS,
                max_time=_COTENGRA_MAX_TIME,
                reconf_opts=None,
                parallel=False,
                progbar=False,
                minimize="flops",
            )
        tree = optimizer.search([tuple(t) for t in inputs], tuple(output), dict(sizes))
    return tuple(tuple(int(i) for i in step) for step in tree.get_path())


def _cheapest(
    inputs: Sequence[str],
    output: str,
    sizes: Mapping[str, int],
    candidates: list[tuple[tuple[tuple[int, ...], ...], str]],
) -> tuple[tuple[tuple[int, ...], ...], str]:
    def key(candidate: tuple[Any, str]) -> tuple[int, int]:
        costs = path_costs(inputs, output, sizes, candidate[0])
        return costs.flops, costs.largest_intermediate

    return min(candidates, key=key)


def _auto_large(
    inputs: Sequence[str], output: str, sizes: Mapping[str, int]
) -> tuple[tuple[tuple[int, ...], ...], str]:
    """``'auto'`` beyond :data:`AUTO_DP_MAX` tensors: fast searches, each improved by
    subtree reconfiguration, then the winner reconfigured with larger subtrees."""
    candidates = [
        (_opt_einsum_path(inputs, output, sizes, "greedy"), "greedy"),
        (_opt_einsum_path(inputs, output, sizes, _random_greedy()), "random-greedy"),
    ]
    absorbed = _absorb_pendants(inputs, output, sizes)
    if absorbed is not None:
        candidates.append((absorbed, "absorb+random-greedy"))
    if cotengra_available():
        candidates.append((_cotengra_path(inputs, output, sizes), "cotengra"))
    improved = [
        (_reconfigure(inputs, output, sizes, path, SUBTREE_SIZE), name + "+reconf")
        for path, name in candidates
    ]
    path, name = _cheapest(inputs, output, sizes, candidates + improved)
    final = _reconfigure(inputs, output, sizes, path, _RECONF_LARGE_SIZE)
    if final != path and not name.endswith("+reconf"):
        name += "+reconf"
    return _cheapest(inputs, output, sizes, [(path, name), (final, name)])


def _absorb_pendants(
    inputs: Sequence[str], output: str, sizes: Mapping[str, int]
) -> tuple[tuple[int, ...], ...] | None:
    """A path that first merges every pendant tensor into its only neighbour, then
    searches the rest (random-greedy).

    A pendant tensor shares summed labels with one other tensor only (its other labels
    are output labels): data vectors on their site, boundary vectors on their core.
    Absorbing them first gives greedy searches the sweep orders of chains and trees,
    which they miss when a large batch makes each absorption look expensive.
    None when there is nothing to absorb.
    """
    out = set(output)
    holders: dict[str, list[int]] = {}
    for i, term in enumerate(inputs):
        for label in set(term):
            holders.setdefault(label, []).append(i)
    pendant: dict[int, int] = {}
    for i, term in enumerate(inputs):
        others = {j for label in set(term) if label not in out for j in holders[label] if j != i}
        if len(others) == 1:
            j = others.pop()
            if pendant.get(j) != i:  # of two tensors pendant on each other, absorb one
                pendant[i] = j
    if not pendant:
        return None
    ops: list[tuple[set[int], str]] = [({i}, term) for i, term in enumerate(inputs)]
    counts = {label: len(h) for label, h in holders.items()}
    path: list[tuple[int, ...]] = []
    for i, j in pendant.items():
        a = next(k for k, (members, _) in enumerate(ops) if i in members)
        b = next(k for k, (members, _) in enumerate(ops) if j in members)
        if a == b:
            continue
        (ma, ta), (mb, tb) = ops[a], ops[b]
        union = dict.fromkeys(ta + tb)
        for label in set(ta):
            counts[label] -= 1
        for label in set(tb):
            counts[label] -= 1
        kept = "".join(lab for lab in union if lab in out or counts[lab] > 0)
        for label in kept:
            counts[label] += 1
        path.append(tuple(sorted((a, b))))
        for k in sorted((a, b), reverse=True):
            del ops[k]
        ops.append((ma | mb, kept))
    rest = [term for _, term in ops]
    if len(rest) > 1:
        if len(rest) <= AUTO_DP_MAX:
            sub = _opt_einsum_path(rest, output, sizes, "dp")
        else:
            sub = _opt_einsum_path(rest, output, sizes, _random_greedy())
        path.extend(sub)
    return tuple(path)


def _reconfigure(
    inputs: Sequence[str], output: str, sizes: Mapping[str, int], path: Any, size: int
) -> tuple[tuple[int, ...], ...]:
    return reconfigure_path(
        inputs, output, sizes, path, size, max_sweeps=_RECONF_SWEEPS, max_time=_RECONF_MAX_TIME
    )


def _check_path(path: Any, n: int) -> tuple[tuple[int, ...], ...]:
    try:
        steps = tuple(tuple(int(i) for i in step) for step in path)
    except TypeError:
        raise TNTypeError(
            f"`optimize` should be one of {OPTIMIZERS}, an explicit path (a sequence of "
            f"tuples of ints), or a path optimiser object, got {path!r}"
        ) from None
    left = n
    for step in steps:
        if not step or len(set(step)) != len(step) or not all(0 <= i < left for i in step):
            raise TNValueError(f"invalid path step {step} with {left} operands left in {steps}")
        left -= len(step) - 1
    if left != 1:
        raise TNValueError(f"path {steps} leaves {left} operands of {n}, not 1")
    return steps


def find_path(
    inputs: Sequence[str], output: str, sizes: Mapping[str, int], optimize: Any = "auto"
) -> tuple[tuple[tuple[int, ...], ...], str]:
    """Search a contraction path (not cached; see :func:`plan_network`).

    Args:
        inputs: One label string per tensor.
        output: The output labels.
        sizes: Size of every label.
        optimize: ``'auto'`` (see the module docstring), one of opt_einsum's
            ``'optimal'``, ``'dp'``, ``'greedy'``, ``'branch-2'``, ``'random-greedy'``
            (seeded, 16 repeats), ``'cotengra'`` (its hyper-optimiser; needs cotengra),
            an explicit path, an ``opt_einsum`` ``PathOptimizer`` or any object with
            cotengra's ``search(inputs, output, sizes)`` method.

    Returns:
        ``(path, optimizer)``: the path in opt_einsum format and the name of the
        optimiser that found it.

    Raises:
        TNValueError: If ``optimize`` names an unknown optimiser, ``'cotengra'`` is asked
            for but not installed, or an explicit path is invalid.
        TNTypeError: If ``optimize`` has an unusable type.
    """
    n = len(inputs)
    if n == 0:
        raise TNValueError("cannot plan the contraction of no tensors")
    if isinstance(optimize, str):
        if optimize not in OPTIMIZERS:
            raise TNValueError(f"unknown `optimize` {optimize!r}; expected one of {OPTIMIZERS}")
        if n == 1:
            return ((0,),), "single"
        if n == 2:
            return ((0, 1),), "single"
        if optimize == "auto":
            if n <= AUTO_OPTIMAL_MAX:
                return _opt_einsum_path(inputs, output, sizes, "optimal"), "optimal"
            if n <= AUTO_DP_MAX:
                return _opt_einsum_path(inputs, output, sizes, "dp"), "dp"
            return _auto_large(inputs, output, sizes)
        if optimize == "cotengra":
            if not cotengra_available():
                raise TNValueError(
                    "optimize='cotengra' needs cotengra: pip install 'torchtn[cotengra]'"
                )
            return _cotengra_path(inputs, output, sizes), "cotengra"
        if optimize == "random-greedy":
            return _opt_einsum_path(inputs, output, sizes, _random_greedy()), optimize
        return _opt_einsum_path(inputs, output, sizes, optimize), optimize
    if hasattr(optimize, "search") and callable(optimize.search):  # a cotengra optimiser
        return _cotengra_path(inputs, output, sizes, optimize), type(optimize).__name__
    if isinstance(optimize, opt_einsum.paths.PathOptimizer):
        return _opt_einsum_path(inputs, output, sizes, optimize), type(optimize).__name__
    return _check_path(optimize, n), "explicit"


def _random_greedy() -> Any:
    return opt_einsum.RandomGreedy(max_repeats=_RANDOM_GREEDY_REPEATS)


# ------------------------------------------------------------------ plans


@dataclass(frozen=True, repr=False)
class ContractionPlan:
    """How a set of tensors is contracted: path, slices and costs (plain data).

    Attributes:
        inputs: One label string per tensor.
        output: The output labels.
        sizes: ``(label, size)`` pairs of every label, sorted.
        path: Positions of the operands contracted at each step (opt_einsum format:
            they are removed and the result is appended).
        optimizer: Name of the optimiser that found the path.
        sliced: Summed labels fixed per slice (empty: no slicing).
        n_slices: Number of slices (product of the sliced sizes).
        flops: Floating point operations over all slices (opt_einsum's convention).
        naive_flops: Floating point operations of one all-at-once contraction.
        largest_intermediate: Elements of the largest tensor built within one slice.
        memory_limit: The limit the plan was sliced for (None: none).
        costs: Per-slice :class:`~torchtn.planning.cost.PathCosts` (every step).
        names: Display names of the tensors (node names), or None.
    """

    inputs: tuple[str, ...]
    output: str
    sizes: tuple[tuple[str, int], ...]
    path: tuple[tuple[int, ...], ...]
    optimizer: str
    sliced: tuple[str, ...]
    n_slices: int
    flops: int
    naive_flops: int
    largest_intermediate: int
    memory_limit: int | None
    costs: PathCosts = field(compare=False)
    names: tuple[str, ...] | None = field(default=None, compare=False)

    @property
    def equation(self) -> str:
        """The whole contraction as one einsum equation."""
        return _equation(self.inputs, self.output)

    @property
    def size_dict(self) -> dict[str, int]:
        """``label -> size``."""
        return dict(self.sizes)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of the result."""
        sizes = self.size_dict
        return tuple(sizes[label] for label in self.output)

    @property
    def speedup(self) -> float:
        """``naive_flops / flops`` (1.0 when both are zero)."""
        return self.naive_flops / self.flops if self.flops else 1.0

    @property
    def order(self) -> tuple[tuple[str, ...], ...]:
        """The names of the operands of each step; ``#k`` is the result of step ``k``."""
        current = list(self.names or (f"t{i}" for i in range(len(self.inputs))))
        out = []
        for k, step in enumerate(self.path):
            out.append(tuple(current[i] for i in step))
            for i in sorted(step, reverse=True):
                del current[i]
            current.append(f"#{k}")
        return tuple(out)

    def with_names(self, names: Sequence[str]) -> ContractionPlan:
        """The same plan, displayed with ``names`` for the tensors."""
        names = tuple(str(n) for n in names)
        if len(names) != len(self.inputs):
            raise TNValueError(f"{len(names)} names given for a plan of {len(self.inputs)} tensors")
        return replace(self, names=names)

    def draw(self, ax: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        """Draw the contraction tree with matplotlib; return ``(figure, axes)``.

        See :func:`torchtn.viz.plan.draw_contraction_tree` (``**kwargs`` go there).
        """
        from torchtn.viz.plan import draw_contraction_tree

        return draw_contraction_tree(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return (
            f"ContractionPlan({len(self.inputs)} tensors -> {self.output_shape}, "
            f"optimizer={self.optimizer!r}, flops={self.flops:,}, "
            f"largest_intermediate={self.largest_intermediate:,}, n_slices={self.n_slices})"
        )

    def __str__(self) -> str:
        sizes = self.size_dict
        lines = [
            f"ContractionPlan: {len(self.inputs)} tensors -> shape {self.output_shape} "
            f"(optimizer: {self.optimizer})",
            f"  flops: {self.flops:,} (all at once: {self.naive_flops:,}, "
            f"x{self.speedup:.3g} fewer)",
            f"  largest intermediate: {self.largest_intermediate:,} elements",
        ]
        if self.sliced:
            lines.append(
                f"  sliced: {', '.join(f'{s}({sizes[s]})' for s in self.sliced)} -> "
                f"{self.n_slices:,} slices (memory_limit={self.memory_limit:,})"
            )
        per_slice = " (per slice)" if self.sliced else ""
        rows = [("step", "contracts", f"result shape{per_slice}", f"flops{per_slice}")]
        inner = sliced_sizes(sizes, self.sliced)
        for k, (names, step) in enumerate(zip(self.order, self.costs.steps, strict=True)):
            shape = tuple(inner[label] for label in step.result if label not in self.sliced)
            rows.append((str(k), " * ".join(names), str(shape), f"{step.flops:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append(
                f"  {r[0]:>{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  "
                f"{r[3]:>{widths[3]}}"
            )
        return "\n".join(lines)


def _naive_flops(inputs: Sequence[str], output: str, sizes: Mapping[str, int]) -> int:
    labels = {label for term in inputs for label in term}
    overall = 1
    for label in labels:
        overall *= sizes[label]
    inner = bool(labels - set(output))
    return overall * (max(1, len(inputs) - 1) + (1 if inner else 0))


def _hashable(optimize: Any) -> Any:
    if isinstance(optimize, (list, tuple)):
        return tuple(tuple(step) for step in optimize)
    return optimize


@functools.lru_cache(maxsize=NETWORK_CACHE_SIZE)
def _cached(
    inputs: tuple[str, ...],
    output: str,
    sizes: tuple[tuple[str, int], ...],
    optimize: Any,
    memory_limit: int | None,
) -> ContractionPlan:
    return _plan(inputs, output, sizes, optimize, memory_limit)


def _plan(
    inputs: tuple[str, ...],
    output: str,
    sizes: tuple[tuple[str, int], ...],
    optimize: Any,
    memory_limit: int | None,
) -> ContractionPlan:
    size_dict = dict(sizes)
    path, optimizer = find_path(inputs, output, size_dict, optimize)
    sliced: tuple[str, ...] = ()
    if memory_limit is not None:
        sliced = choose_slices(inputs, output, size_dict, path, memory_limit)
    n_slices = 1
    for label in sliced:
        n_slices *= size_dict[label]
    costs = path_costs(inputs, output, sliced_sizes(size_dict, sliced), path)
    return ContractionPlan(
        inputs=inputs,
        output=output,
        sizes=sizes,
        path=path,
        optimizer=optimizer,
        sliced=sliced,
        n_slices=n_slices,
        flops=costs.flops * n_slices,
        naive_flops=_naive_flops(inputs, output, size_dict),
        largest_intermediate=costs.largest_intermediate,
        memory_limit=memory_limit,
        costs=costs,
    )


def plan_network(
    inputs: Sequence[str],
    output: str,
    sizes: Mapping[str, int],
    optimize: Any = "auto",
    memory_limit: int | None = None,
) -> ContractionPlan:
    """The cached :class:`ContractionPlan` of ``inputs -> output``.

    Args:
        inputs: One label string per tensor (labels: single characters; a label twice
            in one string is a trace).
        output: The output labels (each once).
        sizes: Size of every label.
        optimize: Path optimiser, see :func:`find_path`.
        memory_limit: Largest number of elements an intermediate may have; summed
            labels are sliced (see :mod:`torchtn.planning.slicing`) until the path fits.
            None: no limit.

    Returns:
        The plan (the same object for the same arguments while it stays cached, unless
        ``optimize`` is an optimiser object, which is not cached).

    Raises:
        TNValueError: If a label has no size, the output repeats a label or names one
            absent from the inputs, the optimiser is unknown, or the limit cannot be met.
        TNTypeError: If ``optimize`` or ``memory_limit`` has the wrong type.

    Example:
        >>> plan = plan_network(["ab", "bc", "cd"], "ad", {"a": 2, "b": 8, "c": 8, "d": 2})
        >>> plan.path, plan.flops
        (((0, 1), (0, 1)), 320)
    """
    inputs = tuple(inputs)
    missing = {label for term in inputs for label in term} - set(sizes)
    if missing:
        raise TNValueError(f"labels {sorted(missing)} have no size in `sizes`")
    if len(set(output)) != len(output):
        raise TNValueError(f"output {output!r} repeats a label")
    absent = set(output) - {label for term in inputs for label in term}
    if absent:
        raise TNValueError(f"output labels {sorted(absent)} appear in no input")
    if memory_limit is not None and (
        not isinstance(memory_limit, int) or isinstance(memory_limit, bool)
    ):
        raise TNTypeError(
            f"`memory_limit` should be an int (elements) or None, got {memory_limit!r}"
        )
    key_sizes = tuple(sorted((label, int(size)) for label, size in sizes.items()))
    key_optimize = _hashable(optimize)
    try:
        return _cached(inputs, output, key_sizes, key_optimize, memory_limit)
    except TypeError as err:  # an unhashable optimiser object
        if isinstance(err, TNTypeError):
            raise
    return _plan(inputs, output, key_sizes, optimize, memory_limit)


def clear_network_cache() -> None:
    """Empty the cache of :func:`plan_network`."""
    _cached.cache_clear()


def network_cache_info() -> Any:
    """Hits, misses and size of the cache of :func:`plan_network`."""
    return _cached.cache_info()
