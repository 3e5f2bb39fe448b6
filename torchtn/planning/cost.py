"""Cost reports for contraction paths: flops, largest intermediate, pairwise steps.

:class:`PlanInfo` is plain data distilled from opt_einsum's ``PathInfo``; it can
be printed, compared and pickled without tensors. :func:`path_costs` prices a
path over labels and sizes alone (no opt_einsum call), with opt_einsum's flop
convention, so that the slicer and the network planner can compare many
candidate paths cheaply. This module imports nothing else from torchtn.

Example:
    >>> costs = path_costs(["abc", "bcd", "de"], "ae", {"a": 2, "b": 3, "c": 4, "d": 5,
    ...                    "e": 6}, [(0, 1), (0, 1)])
    >>> costs.flops, costs.largest_intermediate
    (360, 12)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PlanInfo", "PathCosts", "StepCost", "path_costs"]


@dataclass(frozen=True, repr=False)
class PlanInfo:
    """Cost of an einsum contraction along the path opt_einsum chose.

    Attributes:
        equation: The equation, without whitespace.
        shapes: The operand shapes the plan was made for.
        path: opt_einsum's path: positions of the operands contracted at each step
            (contracted operands are removed, the result is appended).
        steps: The einsum subscript of each step, in order.
        flops: Floating point operations of the planned contraction.
        naive_flops: Floating point operations of a single all-at-once contraction.
        largest_intermediate: Number of elements of the largest tensor built.
    """

    equation: str
    shapes: tuple[tuple[int, ...], ...]
    path: tuple[tuple[int, ...], ...]
    steps: tuple[str, ...]
    flops: int
    naive_flops: int
    largest_intermediate: int

    @classmethod
    def from_path_info(
        cls, equation: str, shapes: tuple[tuple[int, ...], ...], path_info: Any
    ) -> PlanInfo:
        """Build from an ``opt_einsum.contract.PathInfo``.

        Args:
            equation: The equation the path was computed for.
            shapes: The operand shapes.
            path_info: The second value returned by ``opt_einsum.contract_path``.

        Returns:
            The corresponding :class:`PlanInfo`.
        """
        return cls(
            equation=equation,
            shapes=shapes,
            path=tuple(tuple(int(i) for i in step) for step in path_info.path),
            steps=tuple(str(c[2]) for c in path_info.contraction_list),
            flops=int(path_info.opt_cost),
            naive_flops=int(path_info.naive_cost),
            largest_intermediate=int(path_info.largest_intermediate),
        )

    @property
    def speedup(self) -> float:
        """``naive_flops / flops`` (1.0 when both are zero)."""
        return self.naive_flops / self.flops if self.flops else 1.0

    def __repr__(self) -> str:
        head = (
            f"PlanInfo({self.equation!r}, shapes={self.shapes}, flops={self.flops:,}, "
            f"naive_flops={self.naive_flops:,} (x{self.speedup:.3g}), "
            f"largest_intermediate={self.largest_intermediate:,})"
        )
        lines = [head]
        lines += [
            f"  step {i}: {pos} {sub}"
            for i, (pos, sub) in enumerate(zip(self.path, self.steps, strict=True))
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class StepCost:
    """One pairwise (or single-operand) step of a path.

    Attributes:
        operands: Positions, in the current operand list, of the operands contracted.
        inputs: The label strings of those operands.
        result: The labels of the result (sorted by first appearance in ``inputs``).
        flops: opt_einsum's flop count of the step.
        size: Number of elements of the result.
    """

    operands: tuple[int, ...]
    inputs: tuple[str, ...]
    result: str
    flops: int
    size: int

    @property
    def subscripts(self) -> str:
        """The step as an einsum equation."""
        return ",".join(self.inputs) + "->" + self.result


@dataclass(frozen=True)
class PathCosts:
    """Cost of a path: total flops, largest intermediate and every step.

    Attributes:
        flops: Sum of the steps' flops.
        largest_intermediate: Number of elements of the largest result of a step.
        steps: The :class:`StepCost` of each step, in order.
    """

    flops: int
    largest_intermediate: int
    steps: tuple[StepCost, ...]


def _size(labels: str, sizes: Mapping[str, int]) -> int:
    out = 1
    for label in labels:
        out *= sizes[label]
    return out


def path_costs(
    inputs: Sequence[str],
    output: str,
    sizes: Mapping[str, int],
    path: Sequence[Sequence[int]],
) -> PathCosts:
    """Price ``path`` on the einsum ``inputs -> output`` without running opt_einsum.

    A step's flops follow opt_einsum: the product of the sizes of every label involved,
    times ``max(1, n_operands - 1)``, plus one such product when a label is summed.
    Labels held by one operand only (and not in the output) are summed in the step that
    consumes that operand.

    Args:
        inputs: One label string per operand (single-character labels).
        output: The output labels.
        sizes: Size of every label.
        path: opt_einsum-style path: positions of the operands contracted at each step
            (they are removed and the result is appended).

    Returns:
        The :class:`PathCosts`.

    Raises:
        ValueError: If a step names an operand position that does not exist.
    """
    ops = [tuple(dict.fromkeys(term)) for term in inputs]
    counts: dict[str, int] = {}
    for term in ops:
        for label in term:
            counts[label] = counts.get(label, 0) + 1
    keep_out = set(output)
    flops = largest = 0
    steps = []
    for step in path:
        pos = tuple(int(i) for i in step)
        if not pos or any(not 0 <= i < len(ops) for i in pos) or len(set(pos)) != len(pos):
            raise ValueError(f"invalid path step {pos} with {len(ops)} operands left")
        picked = [ops[i] for i in pos]
        for i in sorted(pos, reverse=True):
            del ops[i]
        union = tuple(dict.fromkeys(label for term in picked for label in term))
        for term in picked:
            for label in term:
                counts[label] -= 1
        result = tuple(label for label in union if label in keep_out or counts[label] > 0)
        inner = len(result) < len(union)
        overall = _size("".join(union), sizes)
        step_flops = overall * max(1, len(picked) - 1) + (overall if inner else 0)
        size = _size("".join(result), sizes)
        for label in result:
            counts[label] += 1
        ops.append(result)
        flops += step_flops
        largest = max(largest, size)
        steps.append(
            StepCost(pos, tuple("".join(t) for t in picked), "".join(result), step_flops, size)
        )
    return PathCosts(flops, largest, tuple(steps))
