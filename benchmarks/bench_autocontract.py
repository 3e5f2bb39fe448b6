"""Automatic contraction (``tk.contract_network``) against the models' hand-coded ones.

For an ``MPSLayer``, a ``PEPS`` and a ``Tree`` the same model (same tensors, same data)
is contracted twice:

* **hand**: the model's own ``contract()`` (MPS: the end-region sweeps; PEPS: its exact
  plan, ``max_bond`` high enough never to truncate; Tree: layer by layer);
* **auto**: ``TensorNetwork.contract`` (what a network without its own ``contract()``
  runs): every leaf and data node in one step planned by :mod:`torchtn.planning`.

Each is traced once, then measured on replays: FLOPs of the matrix products actually
run (``torch.utils.flop_counter.FlopCounterMode``, 2 per multiply-add; elementwise
products are not counted, on either side), the planner's own FLOP estimate for auto,
and the median time of an inference replay (``no_grad``) and of a training step
(forward + backward), ``torch.set_num_threads(1)``: 21 rounds (9 with ``--quick``),
each timing about 10 ms of hand calls then 10 ms of auto calls; the time columns are
medians, the ratios the median of the per-round ratios (load that drifts between
rounds on a shared machine cancels out).
Outputs are checked to agree in float64 first. Ratios are auto / hand (below 1: the
automatic plan is cheaper); the issue's bar is 1.5 on every case.

Planning time (first call) is reported separately: it is paid once per input shape.

Usage::

    python benchmarks/bench_autocontract.py [--quick] [--no-cotengra] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import types
from collections.abc import Callable
from typing import Any

import torch
from _harness import markdown_table, setup_torch, time_call
from torch.utils.flop_counter import FlopCounterMode

import torchtn as tk
from torchtn.planning import network as planning_network

BAR = 1.5


def _cases(quick: bool) -> list[tuple[str, Callable[[], Any], int, int, dict]]:
    """``(label, make_model, n_inputs, in_dim, forward kwargs of hand)``."""
    if quick:
        return [
            ("MPSLayer n=20 D=8 B=32", lambda: tk.models.MPSLayer(20, 2, 4, 8), 19, 2, {}),
            ("PEPS 4x4 D=2 B=32", lambda: tk.models.PEPS(4, 4, 2, [2, 2]), 16, 2,
             {"max_bond": 4096}),
            ("Tree 5 levels D=3 B=32", lambda: _tree(5, 3), 32, 2, {}),
        ]  # fmt: skip
    return [
        ("MPSLayer n=100 D=10 B=100", lambda: tk.models.MPSLayer(100, 2, 10, 10), 99, 2, {}),
        ("PEPS 6x6 D=2 B=100", lambda: tk.models.PEPS(6, 6, 2, [2, 2]), 36, 2,
         {"max_bond": 4096}),
        ("Tree 8 levels D=4 B=100", lambda: _tree(8, 4), 256, 2, {}),
    ]  # fmt: skip


def _tree(levels: int, bond: int) -> Any:
    sites = [2 ** (levels - 1 - k) for k in range(levels)]
    shapes = [[2, 2, bond]] + [[bond, bond, bond]] * (levels - 2) + [[bond, bond, 3]]
    return tk.models.Tree(sites, shapes)


def _randomize(net: Any, scale: float, dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(0)
    net.to(dtype)
    for node in net.leaf_nodes.values():
        t = torch.randn(node.shape, generator=gen, dtype=torch.float64) * scale
        t[(0,) * t.dim()] += 1.0
        node.tensor = t.to(dtype)


def _pair(make: Callable[[], Any], dtype: torch.dtype) -> tuple[Any, Any]:
    """Two identical models; the second contracts with the default (automatic) contract."""
    hand, auto = make(), make()
    for net in (hand, auto):
        _randomize(net, 0.3, dtype)
    auto.contract = types.MethodType(tk.TensorNetwork.contract, auto)
    return hand, auto


def _flops(fn: Callable[[], Any]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def _paired(
    fa: Callable[[], Any],
    fb: Callable[[], Any],
    setup_a: Callable[[], Any] | None,
    setup_b: Callable[[], Any] | None,
    rounds: int,
) -> tuple[float, float, float]:
    """``(time a, time b, ratio b/a)``: medians over ``rounds`` back-to-back pairs.

    Each round times a batch of calls of ``a`` then of ``b`` (about 10 ms each); the
    ratio of each pair is taken before the median, so load that drifts between rounds
    (a shared machine) cancels out.
    """
    per_call = [
        time_call(f, min_time=0.05, setup=s).median for f, s in ((fa, setup_a), (fb, setup_b))
    ]
    numbers = [max(1, int(0.01 / max(t, 1e-9))) for t in per_call]
    ta, tb, ratios = [], [], []
    for _ in range(rounds):
        pair = []
        for f, setup, number in ((fa, setup_a, numbers[0]), (fb, setup_b, numbers[1])):
            total = 0.0
            for _ in range(number):
                if setup is not None:
                    setup()
                t0 = time.perf_counter()
                f()
                total += time.perf_counter() - t0
            pair.append(total / number)
        ta.append(pair[0])
        tb.append(pair[1])
        ratios.append(pair[1] / pair[0])
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def _measure(label, make, n_in, in_dim, kwargs, batch, rounds) -> dict[str, Any]:
    # float64 agreement first
    hand, auto = _pair(make, torch.float64)
    x = torch.rand(4, n_in, in_dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref, out = hand(x, **kwargs), auto(x)
    err = float((out - ref).abs().max() / ref.abs().max())

    hand, auto = _pair(make, torch.float32)
    x = torch.rand(batch, n_in, in_dim, generator=torch.Generator().manual_seed(2))
    t0 = time.perf_counter()
    hand.trace(x, **kwargs)
    plan_hand = time.perf_counter() - t0
    t0 = time.perf_counter()
    auto.trace(x)
    plan_auto = time.perf_counter() - t0
    plan = tk.contraction_plan(auto)

    def infer(net: Any) -> Callable[[], Any]:
        def run() -> Any:
            with torch.no_grad():
                return net(x, **(kwargs if net is hand else {}))

        return run

    def train(net: Any) -> Callable[[], Any]:
        def run() -> Any:
            net(x, **(kwargs if net is hand else {})).sum().backward()

        return run

    def zero(net: Any) -> Callable[[], None]:
        return lambda: net.zero_grad(set_to_none=True)

    flops_hand, flops_auto = _flops(infer(hand)), _flops(infer(auto))
    inf = _paired(infer(hand), infer(auto), None, None, rounds)
    trn = _paired(train(hand), train(auto), zero(hand), zero(auto), rounds)
    best = {"hand": (inf[0], trn[0]), "auto": (inf[1], trn[1])}
    return dict(
        case=label,
        rel_err=err,
        flops_hand=flops_hand,
        flops_auto=flops_auto,
        flops_plan=plan.flops,
        optimizer=plan.optimizer,
        n_tensors=len(plan.inputs),
        infer_hand=best["hand"][0],
        infer_auto=best["auto"][0],
        train_hand=best["hand"][1],
        train_auto=best["auto"][1],
        first_hand=plan_hand,
        first_auto=plan_auto,
        infer_ratio=inf[2],
        train_ratio=trn[2],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument(
        "--no-cotengra", action="store_true", help="plan as if cotengra were not installed"
    )
    args = parser.parse_args(argv)
    if args.no_cotengra:
        planning_network.cotengra_available = lambda: False
    setup_torch(1)
    batch = 32 if args.quick else 100
    rounds = 9 if args.quick else 21
    rows, raw, worst = [], [], 0.0
    for label, make, n_in, in_dim, kwargs in _cases(args.quick):
        r = _measure(label, make, n_in, in_dim, kwargs, batch, rounds)
        raw.append(r)
        ratios = (
            r["flops_auto"] / r["flops_hand"],
            r["infer_ratio"],
            r["train_ratio"],
        )
        worst = max(worst, *ratios)
        rows.append(
            (
                label,
                f"{r['n_tensors']} ({r['optimizer']})",
                f"{r['flops_hand']:,}",
                f"{r['flops_auto']:,} ({r['flops_plan']:,})",
                f"{ratios[0]:.2f}",
                f"{r['infer_hand'] * 1e3:.2f} / {r['infer_auto'] * 1e3:.2f}",
                f"{ratios[1]:.2f}",
                f"{r['train_hand'] * 1e3:.2f} / {r['train_auto'] * 1e3:.2f}",
                f"{ratios[2]:.2f}",
                f"{r['first_hand']:.2f} / {r['first_auto']:.2f}",
                f"{r['rel_err']:.1e}",
            )
        )
    print(
        f"Automatic vs hand-coded contraction (torch {torch.__version__}, 1 thread, "
        f"cotengra {'used' if planning_network.cotengra_available() else 'not used'})\n"
    )
    print(
        markdown_table(
            (
                "case",
                "tensors (optimizer)",
                "FLOPs hand",
                "FLOPs auto (plan)",
                "FLOPs ratio",
                "infer ms hand / auto",
                "ratio",
                "train ms hand / auto",
                "ratio",
                "trace s hand / auto",
                "float64 rel. diff",
            ),
            rows,
        )
    )
    verdict = "within" if worst <= BAR else "OVER"
    print(f"\nWorst auto/hand ratio: {worst:.2f} ({verdict} the {BAR}x bar)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
