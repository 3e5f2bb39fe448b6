"""Draw a gallery of networks and a contraction plan to PNG files (the README's images).

Run it with::

    python -m torchtn.examples.draw_gallery --out docs/images

It writes ``mps_layer.png`` (an ``MPSLayer`` with its data nodes), ``peps.png`` (a 3x3
``PEPS`` with data), ``tree.png`` (a binary ``Tree`` over 8 inputs) and
``contraction_plan.png`` (the contraction tree that ``tk.contract_network`` plans for
that PEPS with a batch of 16), and prints the plan and the summary of the
``MPSLayer``. Needs the ``draw`` extra (matplotlib, networkx); uses matplotlib's Agg
backend, so no display is needed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

import torchtn as tk

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> list[Path]:
    """Write the gallery; return the paths written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/images", help="output folder")
    parser.add_argument("--dpi", type=int, default=110, help="resolution of the PNGs")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name: str) -> None:
        path = out / name
        fig.savefig(path, dpi=args.dpi, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
        print(f"wrote {path}")

    mps = tk.models.MPSLayer(n_features=6, in_dim=2, out_dim=10, bond_dim=5)
    mps.set_data_nodes()
    save(mps.draw()[0], "mps_layer.png")
    print(mps.summary())

    peps = tk.models.PEPS(3, 3, 2, [3, 3])
    peps.set_data_nodes()
    save(peps.draw()[0], "peps.png")

    tree = tk.models.Tree([4, 2, 1], [[2, 2, 4], [4, 4, 4], [4, 4, 3]])
    tree.set_data_nodes()
    save(tree.draw()[0], "tree.png")

    peps.add_data(torch.rand(16, 9, 2))
    plan = tk.contraction_plan(peps)
    print(plan)
    save(plan.draw()[0], "contraction_plan.png")
    return written


if __name__ == "__main__":
    main()
