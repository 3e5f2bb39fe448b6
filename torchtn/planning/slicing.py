"""Slicing: trade flops for memory by summing a contraction over slices of some labels.

Fixing a summed label ``k`` to each of its values splits a contraction into
``size(k)`` independent ones whose tensors lack ``k``; their results add up to the
full one. Every intermediate holding ``k`` shrinks by ``size(k)``, so slicing a few
labels brings the largest intermediate under a memory limit, at the price of the
work that does not involve them being repeated per slice.

:func:`choose_slices` picks the labels greedily for a fixed path (the path stays
valid: slicing removes labels, never operands). Like the rest of
:mod:`torchtn.planning` it works on labels and sizes only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torchtn.errors import TNValueError
from torchtn.planning.cost import PathCosts, path_costs

__all__ = ["choose_slices", "sliced_sizes"]


def sliced_sizes(sizes: Mapping[str, int], sliced: Sequence[str]) -> dict[str, int]:
    """``sizes`` with every label of ``sliced`` set to 1 (the size inside one slice)."""
    out = dict(sizes)
    for label in sliced:
        out[label] = 1
    return out


def choose_slices(
    inputs: Sequence[str],
    output: str,
    sizes: Mapping[str, int],
    path: Sequence[Sequence[int]],
    memory_limit: int,
) -> tuple[str, ...]:
    """Summed labels to slice so that no intermediate of ``path`` exceeds ``memory_limit``.

    Greedy: while the largest intermediate (per slice) is over the limit, slice the label
    that brings it down the most, ties broken by the smaller total flops over all slices.
    Output labels (batch axes, open edges) are never sliced.

    Args:
        inputs: One label string per operand.
        output: The output labels.
        sizes: Size of every label.
        path: The contraction path (opt_einsum format).
        memory_limit: Largest number of elements an intermediate may have.

    Returns:
        The sliced labels, in the order chosen (empty when the path fits already).

    Raises:
        TNValueError: If ``memory_limit`` is not a positive int, or no choice of summed
            labels brings the path under it (e.g. the output alone is larger).
    """
    if not isinstance(memory_limit, int) or isinstance(memory_limit, bool) or memory_limit < 1:
        raise TNValueError(
            f"`memory_limit` should be a positive int (elements), got {memory_limit!r}"
        )
    current = dict(sizes)
    sliced: list[str] = []
    costs = path_costs(inputs, output, current, path)
    in_output = set(output)
    candidates = sorted(
        {label for term in inputs for label in term if label not in in_output and sizes[label] > 1}
    )
    while costs.largest_intermediate > memory_limit:
        excess = _excess(costs, memory_limit)
        best = None
        for label in candidates:
            if label in sliced:
                continue
            trial = dict(current)
            trial[label] = 1
            c = path_costs(inputs, output, trial, path)
            n_slices = 1
            for s in (*sliced, label):
                n_slices *= sizes[s]
            key = (c.largest_intermediate, _excess(c, memory_limit), c.flops * n_slices)
            if key[1] < excess and (best is None or key < best[0]):
                best = (key, label, trial, c)
        if best is None:
            output_size = 1
            for label in output:
                output_size *= sizes[label]
            raise TNValueError(
                f"cannot bring the largest intermediate ({costs.largest_intermediate:,} "
                f"elements, after slicing {tuple(sliced)}) under memory_limit="
                f"{memory_limit:,}: the intermediates over it hold output labels only "
                f"(the output alone has {output_size:,} elements)"
            )
        _, label, current, costs = best
        sliced.append(label)
    return tuple(sliced)


def _excess(costs: PathCosts, limit: int) -> int:
    """Total elements over ``limit`` summed over the intermediates (0 when all fit)."""
    return sum(max(0, step.size - limit) for step in costs.steps)
