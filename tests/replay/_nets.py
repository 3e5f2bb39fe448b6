"""Networks exercising every kind of recorded step, for the replay-engine tests."""

from __future__ import annotations

from collections.abc import Callable

import torch

import torchtn as tk

DT = torch.float64


class Ring(tk.TensorNetwork):
    """Periodic MPS written as TensorKrowch users write it (stack, @, unbind, @ chain)."""

    def __init__(self, n: int = 5, d: int = 3, bond: int = 2, kind: str = "stacked") -> None:
        super().__init__(name="ring")
        self.kind = kind
        gen = torch.Generator().manual_seed(0)
        self.cores = [
            tk.ParamNode(
                tensor=torch.randn(bond, d, bond, dtype=DT, generator=gen) * 0.5,
                axes_names=("left", "input", "right"),
                name="core",
                network=self,
            )
            for _ in range(n)
        ]
        for i in range(n):
            self.cores[i]["right"] ^ self.cores[(i + 1) % n]["left"]

    def set_data_nodes(self) -> None:
        super().set_data_nodes([c["input"] for c in self.cores], 1)

    def contract(self):
        data = list(self.data_nodes.values())
        if self.kind == "chain":
            res = [c @ d for c, d in zip(self.cores, data, strict=True)]
        else:
            sc, sd = tk.stack(self.cores), tk.stack(data)
            sc["input"] ^ sd["feature"]
            res = tk.unbind(sc @ sd)
        out = res[0]
        for r in res[1:]:
            out = out @ r
        if self.kind == "permuted":
            out = tk.permute(out, (0,)) * 2.0
        return out


def zoo() -> list[tuple[str, Callable[[], tuple[tk.TensorNetwork, torch.Tensor]]]]:
    """``(name, factory)``; a factory returns a fresh network and an input batch."""

    def ring(kind: str, auto_stack: bool = True, auto_unbind: bool = False):
        def make():
            net = Ring(kind=kind)
            net.auto_stack, net.auto_unbind = auto_stack, auto_unbind
            return net, torch.randn(4, 5, 3, dtype=DT)

        return make

    def mps_layer():
        m = tk.models.MPSLayer(n_features=7, in_dim=3, out_dim=4, bond_dim=5, dtype=DT)
        return m, torch.randn(6, 6, 3, dtype=DT)

    def mps_pbc():
        m = tk.models.MPS(n_features=6, phys_dim=2, bond_dim=3, boundary="pbc", dtype=DT)
        return m, torch.randn(3, 6, 2, dtype=DT)

    def umps():
        m = tk.models.UMPS(n_features=5, phys_dim=2, bond_dim=3, dtype=DT)
        return m, torch.randn(3, 5, 2, dtype=DT)

    def peps():
        m = tk.models.PEPS(3, 3, 2, [2, 2]).to(DT)
        for node in m.leaf_nodes.values():
            node.tensor = torch.randn(node.shape, dtype=DT) * 0.5
        return m, torch.randn(4, 9, 2, dtype=DT)

    def tree():
        m = tk.models.Tree([4, 2, 1], [[3, 3, 2], [2, 2, 2], [2, 2, 5]]).to(DT)
        return m, torch.randn(5, 8, 3, dtype=DT)

    return [
        ("ring_stacked", ring("stacked")),
        ("ring_chain", ring("chain", auto_stack=False)),
        ("ring_auto_unbind", ring("stacked", auto_unbind=True)),
        ("ring_permuted", ring("permuted")),
        ("ring_no_autostack", ring("stacked", auto_stack=False)),
        ("mps_layer", mps_layer),
        ("mps_pbc", mps_pbc),
        ("umps", umps),
        ("peps", peps),
        ("tree", tree),
    ]


def ddp_case() -> tuple[tk.TensorNetwork, list, torch.Tensor]:
    """A small classifier, its batches ``(x, y)`` and a trace example (fixed seeds)."""
    torch.manual_seed(0)
    model = tk.models.MPSLayer(
        n_features=6, in_dim=2, out_dim=3, bond_dim=3, init_method="randn_eye", std=0.1, dtype=DT
    )
    gen = torch.Generator().manual_seed(1)
    batches = [
        (torch.rand(8, 5, 2, dtype=DT, generator=gen), torch.randint(0, 3, (8,), generator=gen))
        for _ in range(4)
    ]
    return model, batches, batches[0][0]
