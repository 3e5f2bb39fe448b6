"""Helper functions of the public ``tk.utils`` module.

Small pure-Python and tensor helpers that TensorKrowch user code imports from
``tensorkrowch.utils``: string formatting, name checks, permutations, combinatorics,
padding-and-stacking of unequal tensors, index compression and Haar-random unitaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchtn import _utils
from torchtn.errors import TNIndexError, TNTypeError, TNValueError

__all__ = [
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
]


def print_list(lst: Sequence[Any]) -> str:
    """Format a sequence with one element per line.

    Args:
        lst: Elements to format with ``str``.

    Returns:
        ``'['`` + the elements joined by ``'\\n '`` + ``']'``.

    Examples:
        >>> print(print_list([1, "a"]))
        [1
         a]
    """
    return "[" + "\n ".join(str(x) for x in lst) + "]"


def tab_string(string: str, num_tabs: int = 1) -> str:
    """Prefix every line of ``string`` (including an empty last one) with tabs.

    Args:
        string: Text to indent.
        num_tabs: Number of tab characters per line.

    Returns:
        The indented text.

    Examples:
        >>> tab_string("a\\nb", 2)
        '\\t\\ta\\n\\t\\tb'
    """
    tabs = "\t" * num_tabs
    return "\n".join(tabs + line for line in string.split("\n"))


def check_name_style(name: str, type: str = "axis") -> bool:
    """Whether ``name`` is a valid axis or node name.

    Axis names may contain only letters, digits and underscores; node names may
    contain anything but blank spaces.

    Args:
        name: The name to check.
        type: ``'axis'`` or ``'node'``.

    Returns:
        ``True`` if the name is valid.

    Raises:
        TNValueError: If ``type`` is neither ``'axis'`` nor ``'node'``.
    """
    if type == "axis":
        return all(c.isalnum() or c == "_" for c in name)
    if type == "node":
        return _utils.check_name_style(name, "node")
    raise TNValueError(f"`type` can only be 'axis' or 'node', got {type!r}")


def erase_enum(name: str) -> str:
    """Strip trailing ``_<digits>`` groups from ``name`` (``'a_1_2'`` -> ``'a'``).

    Args:
        name: The name to clean.

    Returns:
        The name without its enumeration.
    """
    return _utils.erase_enum(name)


def enum_repeated_names(names_list: Sequence[str]) -> list[str]:
    """Strip enumerations, then number the names that occur more than once.

    Names occurring once are left bare; a name occurring ``k > 1`` times receives the
    suffixes ``_0 .. _{k-1}`` in order of appearance.

    Args:
        names_list: Names to normalise.

    Returns:
        The new list of names.

    Examples:
        >>> enum_repeated_names(["input", "left", "input_7"])
        ['input_0', 'left', 'input_1']
    """
    return _utils.enum_repeated_names(names_list)


def permute_list(lst: Sequence[Any], dims: Sequence[int]) -> list[Any]:
    """Reorder ``lst`` as ``[lst[d] for d in dims]``.

    Args:
        lst: The sequence to permute.
        dims: Indices into ``lst`` (negative indices count from the end).

    Returns:
        The permuted list.

    Raises:
        TNIndexError: If an index is ``>= len(lst)``.
    """
    n = len(lst)
    for d in dims:
        if d >= n:
            raise TNIndexError(
                f"`dims` contains index {d}, which is out of range for `lst` of length {n}"
            )
    return [lst[d] for d in dims]


def is_permutation(lst: Sequence[Any], permuted_lst: Sequence[Any]) -> bool:
    """Whether ``permuted_lst`` is a reordering of ``lst`` (same elements and counts).

    Args:
        lst: The reference sequence.
        permuted_lst: The candidate reordering.

    Returns:
        ``True`` if both contain the same elements the same number of times.
    """
    if len(lst) != len(permuted_lst):
        return False
    reference = list(lst)
    candidate = list(permuted_lst)
    return all(reference.count(x) == candidate.count(x) for x in candidate)


def inverse_permutation(dims: Sequence[int]) -> list[int]:
    """The permutation that undoes ``dims``.

    Incomplete permutations (some indices missing) are handled by dropping the missing
    slots: the result is the argsort of ``dims`` (e.g. ``[2, 0] -> [1, 0]``).

    Args:
        dims: A permutation, possibly with gaps.

    Returns:
        Positions ``p`` such that ``[dims[i] for i in p]`` is increasing.
    """
    return sorted(range(len(dims)), key=lambda i: dims[i])


def fact(n: int) -> int:
    """Factorial of a non-negative integer.

    Args:
        n: A non-negative integer.

    Returns:
        ``n!``.

    Raises:
        TNValueError: If ``n`` is negative or not an integer.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise TNValueError(f"`n` should be a non-negative integer, got {n!r}")
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out


def binomial_coeffs(n: int, k: int) -> int:
    """Binomial coefficient ``n! // (k! (n - k)!)``.

    Args:
        n: Size of the set.
        k: Size of the subsets, ``0 <= k <= n``.

    Returns:
        The number of ``k``-subsets of an ``n``-set.

    Raises:
        TNValueError: If ``n``, ``k`` or ``n - k`` is negative or not an integer.
    """
    return fact(n) // (fact(k) * fact(n - k))


def stack_unequal_tensors(lst_tensors: Sequence[torch.Tensor]) -> torch.Tensor | None:
    """Stack tensors of equal rank but possibly different shapes.

    Each tensor is zero-padded at the *beginning* of every dimension up to the
    element-wise maximum shape, so its data occupies ``slice(max - d, max)`` along each
    dimension (the convention of stacked nodes).

    Args:
        lst_tensors: Tensors of the same rank.

    Returns:
        A tensor of shape ``(len(lst_tensors), *max_shape)``, or ``None`` for an empty
        list.

    Raises:
        TNValueError: If the tensors have different ranks.

    Examples:
        >>> stack_unequal_tensors([torch.ones(1, 2), torch.ones(2, 1)]).tolist()
        [[[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]]
    """
    if len(lst_tensors) == 0:
        return None
    ranks = {t.dim() for t in lst_tensors}
    if len(ranks) > 1:
        raise TNValueError(
            "`lst_tensors` should contain tensors of the same rank, got ranks "
            f"{[t.dim() for t in lst_tensors]}"
        )
    shapes = [tuple(t.shape) for t in lst_tensors]
    max_shape = tuple(max(sizes) for sizes in zip(*shapes, strict=True))
    padded = []
    for t, shape in zip(lst_tensors, shapes, strict=True):
        if shape != max_shape:
            pad: list[int] = []
            # pad lists (before, after) pairs starting from the last dimension.
            for d, m in zip(reversed(shape), reversed(max_shape), strict=True):
                pad += [m - d, 0]
            t = torch.nn.functional.pad(t, pad)
        padded.append(t)
    return torch.stack(padded)


def list2slice(lst: Sequence[int]) -> slice | list[int]:
    """Compress a list of indices into an equivalent ``slice`` when possible.

    An increasing arithmetic progression ``[a, a + s, ..., b]`` becomes
    ``slice(a, b + 1, s)`` and a single element ``[a]`` becomes ``slice(a, a + 1, None)``;
    any other list (empty, repeated or decreasing entries, irregular steps) is returned
    as a list, which indexes the same elements.

    Args:
        lst: Integer indices.

    Returns:
        A slice selecting the same elements, or the list itself.
    """
    return _utils.list2slice(lst)


def split_sequence_into_regions(lst: Sequence[int]) -> list[list[int]]:
    """Split an ascending sequence of integers into maximal runs of consecutive values.

    Args:
        lst: Strictly increasing integers.

    Returns:
        The runs, e.g. ``[1, 2, 3, 5, 6, 8] -> [[1, 2, 3], [5, 6], [8]]``; ``[] -> []``.

    Raises:
        TNTypeError: If ``lst`` is not a sequence of integers.
        TNValueError: If ``lst`` has repeated elements or is not in ascending order.
    """
    if isinstance(lst, str) or not isinstance(lst, Sequence):
        raise TNTypeError(f"`lst` should be a sequence of integers, got {type(lst).__name__}")
    for x in lst:
        if isinstance(x, bool) or not isinstance(x, int):
            raise TNTypeError(
                f"`lst` should be a sequence of integers, got element {x!r} ({type(x).__name__})"
            )
    if len(set(lst)) != len(lst):
        raise TNValueError(f"`lst` cannot contain repeated elements, got {list(lst)}")
    if any(b < a for a, b in zip(lst[:-1], lst[1:], strict=True)):
        raise TNValueError(f"`lst` should be in ascending order, got {list(lst)}")
    regions: list[list[int]] = []
    for x in lst:
        if regions and x == regions[-1][-1] + 1:
            regions[-1].append(x)
        else:
            regions.append([x])
    return regions


def random_unitary(
    n: int,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Draw an ``n x n`` Haar-random orthogonal (real) or unitary (complex) matrix.

    One ``randn(n, n)`` draw is made; with ``Q, R = qr(A)`` the result is
    ``Q diag(R_ii / |R_ii|)``, which is Haar-distributed.

    Args:
        n: Size of the matrix.
        device: Device of the result.
        dtype: Floating or complex dtype (default: torch's default dtype).

    Returns:
        A tensor ``U`` of shape ``(n, n)`` with ``U^H U = I``.
    """
    a = torch.randn(n, n, device=device, dtype=dtype)
    q, r = torch.linalg.qr(a)
    d = torch.diagonal(r)
    return q * (d / d.abs()).unsqueeze(0)
