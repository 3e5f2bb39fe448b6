"""Subtree reconfiguration: improve a contraction path by re-solving small pieces exactly.

Greedy searches are myopic: on a chain whose sites each carry a data vector with a
large batch they postpone absorbing the data and build exponentially wide
intermediates. A path is a binary tree over the tensors; here each internal node in
turn has the part of the tree just under it, down to a frontier of at most
:data:`SUBTREE_SIZE` subtrees, replaced by the optimal contraction order of those
frontier tensors (dynamic programming over their subsets), whenever that is cheaper.
Sweeps repeat until nothing improves (or a time budget runs out). The same idea is
cotengra's ``subtree_reconfigure``; this version needs only the labels and sizes.

Tree nodes are identified by the bit mask of the tensors they contain.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

__all__ = ["SUBTREE_SIZE", "reconfigure_path"]

#: Largest number of frontier subtrees re-solved exactly at once.
SUBTREE_SIZE = 6


class _Tree:
    def __init__(
        self, inputs: Sequence[str], output: str, sizes: Mapping[str, int], path: Sequence
    ) -> None:
        self.n = len(inputs)
        self.sizes = sizes
        self.output = set(output)
        self.occ: dict[str, int] = {}
        for i, term in enumerate(inputs):
            for label in set(term):
                self.occ[label] = self.occ.get(label, 0) | (1 << i)
        self.labels: dict[int, frozenset[str]] = {
            1 << i: self._kept(1 << i, frozenset(term)) for i, term in enumerate(inputs)
        }
        self.children: dict[int, tuple[int, int]] = {}
        ops = [1 << i for i in range(self.n)]
        for step in path:
            picked = [ops[i] for i in step]
            for i in sorted(step, reverse=True):
                del ops[i]
            acc = picked[0]
            for other in picked[1:]:
                acc = self._join(acc, other)
            ops.append(acc)
        self.root = ops[0]

    def _kept(self, mask: int, union: frozenset[str]) -> frozenset[str]:
        occ, out = self.occ, self.output
        return frozenset(lab for lab in union if lab in out or occ[lab] & ~mask)

    def _join(self, a: int, b: int) -> int:
        mask = a | b
        self.children[mask] = (a, b)
        if mask not in self.labels:
            self.labels[mask] = self._kept(mask, self.labels[a] | self.labels[b])
        return mask

    def cost(self, a_labels: frozenset, b_labels: frozenset, result: frozenset) -> int:
        union = a_labels | b_labels
        overall = 1
        for lab in union:
            overall *= self.sizes[lab]
        return overall * 2 if len(result) < len(union) else overall

    def node_cost(self, mask: int) -> int:
        a, b = self.children[mask]
        return self.cost(self.labels[a], self.labels[b], self.labels[mask])

    # -- one reconfiguration ------------------------------------------------------------
    def frontier(self, mask: int, k: int) -> tuple[list[int], list[int]]:
        """``(frontier, internal)``: up to ``k`` subtrees under ``mask`` (expanding the
        most expensive first) and the internal nodes between them and ``mask``."""
        front = list(self.children[mask])
        internal = [mask]
        while len(front) < k:
            expandable = [m for m in front if m in self.children]
            if not expandable:
                break
            m = max(expandable, key=self.node_cost)
            front.remove(m)
            front.extend(self.children[m])
            internal.append(m)
        return front, internal

    def solve(self, front: list[int], target: frozenset[str]) -> tuple[int, dict[int, tuple]]:
        """Optimal pairwise order of the ``front`` tensors into one with labels ``target``.

        Returns the cost and, for each merged subset (as a bit mask over ``front``), its
        best split.
        """
        k = len(front)
        labs = [self.labels[m] for m in front]
        # A label survives a subset if it is in the target or held outside the subset
        # (by another frontier tensor).
        holders: dict[str, int] = {}
        for i, ls in enumerate(labs):
            for lab in ls:
                holders[lab] = holders.get(lab, 0) | (1 << i)
        sub_labels: dict[int, frozenset] = {1 << i: labs[i] for i in range(k)}
        best: dict[int, tuple[int, int, int]] = {1 << i: (0, 0, 0) for i in range(k)}
        full = (1 << k) - 1
        for s in range(1, full + 1):
            if s & (s - 1) == 0:
                continue
            union = frozenset().union(*(labs[i] for i in range(k) if s >> i & 1))
            sub_labels[s] = frozenset(lab for lab in union if lab in target or holders[lab] & ~s)
            low = s & -s
            sub = (s - 1) & s
            found = None
            while sub:
                if sub & low:  # each unordered split once
                    other = s ^ sub
                    c = best[sub][0] + best[other][0]
                    if found is None or c < found[0]:
                        c += self.cost(sub_labels[sub], sub_labels[other], sub_labels[s])
                        if found is None or c < found[0]:
                            found = (c, sub, other)
                sub = (sub - 1) & s
            best[s] = found  # type: ignore[assignment]
        return best[full][0], {s: v for s, v in best.items() if v[1]}

    def reconfigure(self, mask: int, k: int) -> int:
        """Re-solve the piece under ``mask``; return the flops saved (0: unchanged)."""
        front, internal = self.frontier(mask, k)
        if len(front) < 3:
            return 0
        old = sum(self.node_cost(m) for m in internal)
        new, splits = self.solve(front, self.labels[mask])
        if new >= old:
            return 0
        for m in internal:
            del self.children[m]

        def build(s: int) -> int:
            if s & (s - 1) == 0:
                return front[s.bit_length() - 1]
            _, a, b = splits[s]
            return self._join(build(a), build(b))

        build((1 << len(front)) - 1)
        return old - new

    # -- output -----------------------------------------------------------------------------
    def path(self) -> tuple[tuple[int, int], ...]:
        """The tree as an opt_einsum path (children before parents, depth first)."""
        ops = [1 << i for i in range(self.n)]
        out: list[tuple[int, int]] = []
        stack = [(self.root, False)]
        while stack:
            mask, ready = stack.pop()
            if mask not in self.children:
                continue
            a, b = self.children[mask]
            if not ready:
                stack.append((mask, True))
                stack.append((b, False))
                stack.append((a, False))
                continue
            i, j = sorted((ops.index(a), ops.index(b)))
            out.append((i, j))
            del ops[j], ops[i]
            ops.append(mask)
        return tuple(out)


def reconfigure_path(
    inputs: Sequence[str],
    output: str,
    sizes: Mapping[str, int],
    path: Sequence[Sequence[int]],
    subtree_size: int = SUBTREE_SIZE,
    max_sweeps: int = 8,
    max_time: float | None = 2.0,
) -> tuple[tuple[int, ...], ...]:
    """A path with no more flops than ``path`` (opt_einsum's flop count).

    Args:
        inputs: One label string per tensor.
        output: The output labels.
        sizes: Size of every label.
        path: The starting path (opt_einsum format; steps of more than two operands are
            made pairwise).
        subtree_size: Frontier size re-solved exactly (cost grows as ``3**subtree_size``).
        max_sweeps: Sweeps over all internal nodes at most.
        max_time: Stop after this many seconds (None: no limit); the path improved so
            far is returned.

    Returns:
        The improved path (pairwise steps), or ``path`` itself when there are fewer than
        three tensors.
    """
    if len(inputs) < 3:
        return tuple(tuple(step) for step in path)
    deadline = None if max_time is None else time.perf_counter() + max_time
    tree = _Tree(inputs, output, sizes, path)
    for _ in range(max_sweeps):
        saved = 0
        order = sorted(tree.children, key=lambda m: bin(m).count("1"), reverse=True)
        for mask in order:
            if mask in tree.children:
                saved += tree.reconfigure(mask, subtree_size)
            if deadline is not None and time.perf_counter() > deadline:
                return tree.path()
        if not saved:
            break
    return tree.path()
