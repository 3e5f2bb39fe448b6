"""Drawing a contraction plan as its contraction tree.

:func:`draw_contraction_tree` takes any object shaped like
:class:`torchtn.planning.ContractionPlan` (``inputs``, ``path``, ``order``, ``names``
and ``costs.steps`` with ``flops``/``size``): the tensors are the leaves, in the order a
depth-first walk of the tree meets them; each step is a node at the height of its
position in the order, sized by its share of the flops and coloured by the size of
its result. matplotlib is imported inside the function.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["draw_contraction_tree"]


def draw_contraction_tree(
    plan: Any,
    ax: Any = None,
    font_size: float = 7.0,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> tuple[Any, Any]:
    """Draw ``plan``'s contraction tree; return ``(figure, axes)``.

    Args:
        plan: A :class:`~torchtn.planning.ContractionPlan`.
        ax: Axes to draw on (None: a new figure).
        font_size: Font size of the labels.
        figsize: Size of a new figure in inches (None: from the number of tensors).
        title: Axes title (None: a summary of the plan's cost).

    Returns:
        The matplotlib ``Figure`` and ``Axes``.
    """
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors

    n = len(plan.inputs)
    names = list(plan.names or (f"t{i}" for i in range(n)))
    # SSA ids: 0..n-1 the tensors, n + k the result of step k.
    children: dict[int, tuple[int, ...]] = {}
    current = list(range(n))
    for k, step in enumerate(plan.path):
        children[n + k] = tuple(current[i] for i in step)
        for i in sorted(step, reverse=True):
            del current[i]
        current.append(n + k)
    root = current[-1]
    # leaves in depth-first order, so that every subtree is contiguous
    x: dict[int, float] = {}
    stack = [root]
    order: list[int] = []
    while stack:
        node = stack.pop()
        if node < n:
            order.append(node)
        else:
            stack.extend(reversed(children[node]))
    for pos, leaf in enumerate(order):
        x[leaf] = float(pos)
    y = {leaf: 0.0 for leaf in range(n)}
    for k in range(len(plan.path)):
        node = n + k
        x[node] = sum(x[c] for c in children[node]) / len(children[node])
        y[node] = float(k + 1)

    if ax is None:
        if figsize is None:
            figsize = (
                min(max(5.0, 0.35 * n + 2), 30.0),
                min(max(4.0, 0.12 * len(plan.path) + 3), 20.0),
            )
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    steps = plan.costs.steps
    total = max(1, sum(s.flops for s in steps))
    sizes = [max(1, s.size) for s in steps]
    norm = colors.LogNorm(vmin=min(sizes), vmax=max(max(sizes), min(sizes) + 1))
    cmap = plt.get_cmap("viridis")
    for node, kids in children.items():
        for c in kids:
            ax.plot([x[c], x[c], x[node]], [y[c], y[node], y[node]], color="0.4", lw=0.8, zorder=1)
    ax.scatter([x[i] for i in range(n)], [0.0] * n, s=25, c="#4C72B0", edgecolors="black", zorder=3)
    for i in range(n):
        ax.text(x[i], -0.4, names[i], rotation=90, ha="center", va="top", fontsize=font_size)
    ax.scatter(
        [x[n + k] for k in range(len(steps))],
        [y[n + k] for k in range(len(steps))],
        s=[20 + 400 * s.flops / total for s in steps],
        c=[cmap(norm(max(1, s.size))) for s in steps],
        edgecolors="black",
        linewidths=0.5,
        zorder=3,
    )
    mappable = cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=ax, label="result size (elements)", shrink=0.7)
    ax.set_ylabel("step")
    ax.set_yticks(list(range(0, len(steps) + 1, max(1, len(steps) // 8))))
    ax.set_xticks([])
    ax.set_ylim(-0.4 - 0.12 * max(len(s) for s in names) * math.log2(n + 2), len(steps) + 1)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    if title is None:
        title = (
            f"{n} tensors, {plan.flops:,} flops, largest intermediate "
            f"{plan.largest_intermediate:,} ({plan.optimizer})"
        )
    ax.set_title(title, fontsize=font_size + 2)
    return fig, ax
