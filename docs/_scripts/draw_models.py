"""Draw the schematic pictures of the model zoo tutorial into docs/images/zoo_*.png.

Plain matplotlib (no torchtn): circles are trainable cores, squares the boundary vectors
of open chains, short grey legs the inputs (data), red legs the outputs. Run from the
repository root after changing a picture:

    .venv/bin/python docs/_scripts/draw_models.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, Rectangle  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "images"
CORE, SHARED, BOUNDARY, DATA, OUTPUT = "#f4a261", "#2a9d8f", "#bbbbbb", "#777777", "#d62828"
R = 0.22


def _figure(width: float, height: float):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _node(ax, x, y, color=CORE, label=None, square=False):
    if square:
        ax.add_patch(Rectangle((x - 0.13, y - 0.13), 0.26, 0.26, color=color, zorder=3))
    else:
        ax.add_patch(Circle((x, y), R, facecolor=color, edgecolor="black", lw=0.8, zorder=3))
    if label:
        ax.text(x, y, label, ha="center", va="center", fontsize=7, zorder=4)


def _line(ax, x0, y0, x1, y1, color="black", lw=1.4, style="-"):
    ax.plot([x0, x1], [y0, y1], color=color, lw=lw, ls=style, zorder=1)


def _leg(ax, x, y, dx, dy, color=DATA, text=None):
    _line(ax, x, y, x + dx, y + dy, color=color, lw=2 if color == OUTPUT else 1.4)
    if text:
        ax.text(
            x + dx * 1.35, y + dy * 1.35, text, ha="center", va="center", fontsize=7, color=color
        )


def _save(fig, name: str) -> None:
    fig.tight_layout(pad=0.1)
    fig.savefig(OUT / name, dpi=90)
    plt.close(fig)


def _chain(ax, n, *, out_at=None, shared=False, mpo=False, periodic=False, obc=True):
    xs = list(range(n))
    for a, b in zip(xs[:-1], xs[1:], strict=False):
        _line(ax, a, 0, b, 0)
    if periodic:
        ax.plot([0, 0, n - 1, n - 1], [0, 0.75, 0.75, 0], color="black", lw=1.4, zorder=1)
    elif obc:
        _node(ax, -0.8, 0, BOUNDARY, square=True)
        _node(ax, n - 0.2, 0, BOUNDARY, square=True)
        _line(ax, -0.8, 0, 0, 0)
        _line(ax, n - 1, 0, n - 0.2, 0)
    for i in xs:
        if i == out_at:
            _leg(ax, i, 0, 0, 0.6, OUTPUT, "out")
        else:
            _leg(ax, i, 0, 0, -0.6, DATA, f"x{i if out_at is None or i < out_at else i - 1}")
            if mpo:
                _leg(ax, i, 0, 0, 0.6, OUTPUT)
        _node(ax, i, 0, SHARED if shared and i != out_at else CORE)
    ax.set_xlim(-1.2, n + 0.2)
    ax.set_ylim(-1.1, 1.1)


def mps() -> None:
    fig, ax = _figure(5.6, 1.6)
    _chain(ax, 6)
    _save(fig, "zoo_mps.png")


def umps() -> None:
    fig, ax = _figure(5.6, 1.7)
    _chain(ax, 6, shared=True, periodic=True)
    ax.text(2.5, -1.05, "one tensor shared by every site", ha="center", fontsize=7)
    _save(fig, "zoo_umps.png")


def mps_layer() -> None:
    fig, ax = _figure(5.6, 1.6)
    _chain(ax, 7, out_at=3)
    _save(fig, "zoo_mpslayer.png")


def mpo() -> None:
    fig, ax = _figure(4.6, 1.6)
    _chain(ax, 5, mpo=True)
    _save(fig, "zoo_mpo.png")


def peps() -> None:
    rows, cols = 3, 4
    fig, ax = _figure(3.6, 2.9)
    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols:
                _line(ax, c, -r, c + 1, -r)
            if r + 1 < rows:
                _line(ax, c, -r, c, -r - 1)
            _leg(ax, c, -r, 0.3, -0.3)
            _node(ax, c, -r)
    ax.set_xlim(-0.5, cols - 0.2)
    ax.set_ylim(-rows + 0.3, 0.5)
    _save(fig, "zoo_peps.png")


def tree() -> None:
    fig, ax = _figure(5.0, 2.4)
    layers = [4, 2, 1]
    positions = []
    width = 8
    for level, n in enumerate(layers):
        step = width / n
        positions.append([(step * (j + 0.5) - 0.5, level) for j in range(n)])
    for x, y in positions[0]:
        for dx in (-0.45, 0.45):
            _leg(ax, x, y, dx, -0.6)
    for level in range(1, len(layers)):
        children = positions[level - 1]
        for j, (x, y) in enumerate(positions[level]):
            for cx, cy in children[2 * j : 2 * j + 2]:
                _line(ax, x, y, cx, cy)
    x, y = positions[-1][0]
    _leg(ax, x, y, 0, 0.6, OUTPUT, "out")
    for layer in positions:
        for x, y in layer:
            _node(ax, x, y)
    ax.set_xlim(-1.3, width - 0.2)
    ax.set_ylim(-0.9, 3.0)
    _save(fig, "zoo_tree.png")


def conv() -> None:
    fig, ax = _figure(6.0, 2.2)
    n = 5
    for r in range(n):
        for c in range(n):
            ax.add_patch(
                Rectangle(
                    (c * 0.4, -r * 0.4),
                    0.4,
                    0.4,
                    facecolor="#dee2e6",
                    edgecolor="white",
                    lw=1.5,
                    zorder=1,
                )
            )
    ax.add_patch(Rectangle((0.4, -0.4), 0.78, 0.78, fill=False, edgecolor=OUTPUT, lw=2, zorder=2))
    ax.text(1.0, -2.05, "image, 2x2 kernel", ha="center", fontsize=7)
    ax.annotate("", xy=(2.9, 0.0), xytext=(2.2, 0.0), arrowprops=dict(arrowstyle="->", lw=1.2))
    for i in range(4):
        _line(ax, 3.3 + i, 0, 3.3 + i + 1, 0) if i < 3 else None
        _leg(ax, 3.3 + i, 0, 0, -0.6, DATA, f"p{i}")
        _node(ax, 3.3 + i, 0)
    _leg(ax, 4.3, 0, 0, 0.6, OUTPUT)
    ax.text(4.8, -1.5, "one MPS (PEPS, Tree) applied to every patch", ha="center", fontsize=7)
    ax.set_xlim(-0.1, 7.0)
    ax.set_ylim(-2.2, 0.9)
    _save(fig, "zoo_conv.png")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for draw in (mps, umps, mps_layer, mpo, peps, tree, conv):
        draw()
    print("wrote", sorted(p.name for p in OUT.glob("zoo_*.png")))


if __name__ == "__main__":
    main()
