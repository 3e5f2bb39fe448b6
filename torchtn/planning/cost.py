"""Cost reports for einsum plans: flops, largest intermediate, pairwise steps.

:class:`PlanInfo` is plain data distilled from opt_einsum's ``PathInfo``; it can
be printed, compared and pickled without tensors.

Example:
    >>> info = estimate("abc,bcd,de->ae", [(2, 3, 4), (3, 4, 5), (5, 6)])
    >>> info.flops, info.largest_intermediate
    (360, 12)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PlanInfo", "estimate"]


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


def estimate(equation: str, shapes: Sequence[Sequence[int]], optimize: Any = "auto") -> PlanInfo:
    """Cost of contracting ``equation`` on operands of the given shapes.

    Uses (and fills) the plan cache of :func:`torchtn.planning.get_plan`.

    Args:
        equation: Explicit einsum equation, e.g. ``'ij,jk->ik'``.
        shapes: One shape per operand.
        optimize: Any ``optimize`` value accepted by ``opt_einsum.contract_path``.

    Returns:
        The :class:`PlanInfo` of the plan.

    Raises:
        TNValueError: If the equation does not match the shapes.
    """
    # path.py imports this module, so the import goes here to avoid a cycle.
    from torchtn.planning.path import get_plan

    return get_plan(equation, shapes, optimize).info
