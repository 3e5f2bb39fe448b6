"""Pure helpers shared by every layer (naming rules, permutations, products).

This module imports nothing from torchtn.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Sequence

__all__ = [
    "erase_enum",
    "enum_repeated_names",
    "check_name_style",
    "tab_string",
    "print_list",
    "is_permutation",
    "inverse_permutation",
    "prod",
    "list2slice",
    "split_sequence_into_chunks",
    "as_index",
    "user_stacklevel",
]


def erase_enum(name: str) -> str:
    """Strip trailing ``_<digits>`` groups from ``name``.

    ``node_0_1`` -> ``node``; ``node_(0)`` is kept (parentheses protect a user
    enumeration); ``_0`` -> ``''``.
    """
    if not name[-1:].isdigit():
        return name  # fast path: the last piece cannot be all digits
    pieces = name.split("_")
    while pieces and pieces[-1].isdigit():
        pieces.pop()
    return "_".join(pieces)


def enum_repeated_names(names: Iterable[str]) -> list[str]:
    """Normalise a list of axis names: strip enumerations, re-number repeats.

    Names that occur once lose their numeric suffix; names that occur ``k > 1``
    times get ``_0 .. _{k-1}`` in order of appearance.
    """
    names = tuple(names)
    try:
        return list(_enum_repeated_names(names))
    except TypeError:  # unhashable elements: let the plain version report them
        return list(_enum_repeated_names.__wrapped__(names))


@functools.lru_cache(maxsize=1024)
def _enum_repeated_names(names: tuple) -> tuple:
    # Nodes of one model share a handful of axis-name lists: cache the result.
    base = [erase_enum(n) for n in names]
    counts: dict[str, int] = {}
    for b in base:
        counts[b] = counts.get(b, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for b in base:
        if counts[b] == 1:
            out.append(b)
        else:
            i = seen.get(b, 0)
            seen[b] = i + 1
            out.append(f"{b}_{i}")
    return tuple(out)


def check_name_style(name: str, what: str = "node") -> bool:
    """Return whether ``name`` is acceptable as a ``what`` name.

    ``"node"``: anything without a blank space ``' '``. ``"axis"``: only letters,
    digits and underscores (a rule kept for completeness; axis names are never
    checked by the library).

    Raises:
        ValueError: If ``what`` is neither ``"node"`` nor ``"axis"``.
    """
    if what == "node":
        return " " not in name
    if what == "axis":
        return all(c.isalpha() or c.isnumeric() or c == "_" for c in name)
    raise ValueError(f"`what` should be 'node' or 'axis', got {what!r}")


def tab_string(string: str, num_tabs: int = 1) -> str:
    """Prefix every line of ``string`` with ``num_tabs`` tab characters."""
    prefix = "\t" * num_tabs
    return "\n".join(prefix + line for line in string.split("\n"))


def print_list(items: Iterable) -> str:
    """``[a\n b\n c]``: one item per line, as in node and network ``repr``."""
    return "[" + "\n ".join(str(item) for item in items) + "]"


def is_permutation(seq: Sequence[int], n: int) -> bool:
    """Whether ``seq`` is a permutation of ``range(n)``."""
    return len(seq) == n and sorted(seq) == list(range(n))


def inverse_permutation(perm: Sequence[int]) -> list[int]:
    """The permutation that undoes ``perm``."""
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def prod(values: Iterable[int]) -> int:
    """Product of integers (1 for an empty iterable)."""
    out = 1
    for v in values:
        out *= v
    return out


def list2slice(indices: Sequence[int]) -> slice | list[int]:
    """A ``slice`` equivalent to ``indices`` when they form an increasing
    arithmetic progression, otherwise the list itself.

    One element ``[a]`` gives ``slice(a, a + 1, None)``; an empty list stays ``[]``.
    """
    idx = list(indices)
    if not idx:
        return idx
    if len(idx) == 1:
        return slice(idx[0], idx[0] + 1, None)
    step = idx[1] - idx[0]
    if step <= 0:
        return idx
    for a, b in zip(idx[:-1], idx[1:], strict=True):
        if b - a != step:
            return idx
    return slice(idx[0], idx[-1] + 1, step)


def split_sequence_into_chunks(lst: Sequence, n_chunks: int) -> list[list]:
    """Split ``lst`` into ``n_chunks`` contiguous chunks of near-equal length."""
    n = len(lst)
    size, extra = divmod(n, n_chunks)
    out, start = [], 0
    for i in range(n_chunks):
        stop = start + size + (1 if i < extra else 0)
        out.append(list(lst[start:stop]))
        start = stop
    return out


def as_index(index: object) -> object:
    """A memory index stored as TensorKrowch lists (``[i, slice, ...]``) as torch takes it.

    A list becomes a tuple of per-axis indices, except a list holding one list of
    positions (a fancy index), which is returned bare.
    """
    if isinstance(index, list):
        if index and isinstance(index[0], list) and len(index) == 1:
            return index[0]
        return tuple(index)
    return index


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that points at the first caller outside
    torchtn and torch (so a warning names the user's line, however deep inside the
    library, a module call or an optimizer step it was raised)."""
    import torch  # torch is always loaded when torchtn warns

    torch_dir = os.path.dirname(os.path.abspath(torch.__file__))
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not (path.startswith(_PACKAGE_DIR) or path.startswith(torch_dir)):
            break
        frame = frame.f_back
        level += 1
    return level
