"""Per-call time of a cached :class:`torchtn.planning.EinsumPlan` against torch and opt_einsum.

Everything runs in this process with ``torch.set_num_threads(1)``. For each equation
the same float64 tensors go through:

* ``plan(*ts)``: a cached plan, with its operand checks;
* ``plan.execute(*ts)``: the compiled function alone;
* ``planning.contract(eq, *ts)``: cache lookup by shape + execute;
* ``torch.einsum(eq, *ts)``;
* ``opt_einsum.contract(eq, *ts)`` (parses and plans on every call);
* ``opt_einsum.contract_expression(eq, *shapes)(*ts)`` (pre-planned by opt_einsum).

Timings are interleaved (one repeat of every variant, then the next repeat) and the
median (or ``--stat min``) over repeats is reported in µs per call, with the ratio to
``torch.einsum`` (below 1 means faster than ``torch.einsum``).

Usage::

    python benchmarks/bench_planning.py [--repeats 25] [--budget-ms 20] [--stat min]
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable

import opt_einsum
import torch

from torchtn import planning

__all__ = ["CASES", "main"]

# (name, equation, shapes)
CASES: list[tuple[str, str, list[tuple[int, ...]]]] = [
    ("matmul 2x2", "ij,jk->ik", [(2, 2), (2, 2)]),
    ("node @ node (4,5,6)x(6,5)", "ijk,kl->ijl", [(4, 5, 6), (6, 5)]),
    ("batched bond B=100 D=10", "bij,bjk->bik", [(100, 10, 10), (100, 10, 10)]),
    ("core . input (10,3,10)x(3,)", "ljr,j->lr", [(10, 3, 10), (3,)]),
    ("MPS step B=100 D=10 d=3", "bl,lir,bi->br", [(100, 10), (10, 3, 10), (100, 3)]),
    (
        "2 MPS sites B=100 D=10 d=3",
        "lir,bi,rjs,bj->bls",
        [(10, 3, 10), (100, 3), (10, 3, 10), (100, 3)],
    ),
    ("MPS env + site B=100", "bl,lir,bi,rs->bs", [(100, 10), (10, 3, 10), (100, 3), (10, 10)]),
]


def _time_per_call(fn: Callable[[], object], budget_s: float) -> Callable[[], float]:
    """Calibrate ``number`` so one repeat takes about ``budget_s``; return a timer."""
    for _ in range(50):
        fn()
    number = 1
    while True:
        elapsed = timeit.timeit(fn, number=number)
        if elapsed >= budget_s / 4:
            break
        number *= 2
    number = max(1, int(number * budget_s / elapsed))
    return lambda: timeit.timeit(fn, number=number) / number


def _bench_case(
    equation: str, shapes: list[tuple[int, ...]], repeats: int, budget_s: float, stat: str
) -> dict[str, float]:
    gen = torch.Generator().manual_seed(0)
    ts = [torch.randn(s, dtype=torch.float64, generator=gen) for s in shapes]
    plan = planning.get_plan(equation, [t.shape for t in ts])
    expr = opt_einsum.contract_expression(equation, *shapes)
    ref = torch.einsum(equation, *ts)
    assert torch.allclose(plan(*ts), ref), equation
    variants: dict[str, Callable[[], object]] = {
        "plan": lambda: plan(*ts),
        "execute": lambda: plan.execute(*ts),
        "contract": lambda: planning.contract(equation, *ts),
        "torch.einsum": lambda: torch.einsum(equation, *ts),
        "oe.contract": lambda: opt_einsum.contract(equation, *ts),
        "oe.expression": lambda: expr(*ts),
    }
    timers = {k: _time_per_call(f, budget_s) for k, f in variants.items()}
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(repeats):
        for k, timer in timers.items():
            samples[k].append(timer())
    reduce = statistics.median if stat == "median" else min
    return {k: reduce(v) * 1e6 for k, v in samples.items()}


def main(argv: list[str] | None = None) -> None:
    """Run every case and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--budget-ms", type=float, default=20.0, help="time per repeat")
    parser.add_argument(
        "--stat", choices=["median", "min"], default="median", help="statistic over repeats"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, opt_einsum {opt_einsum.__version__}, 1 thread, float64")
    print(f"{args.stat} of {args.repeats} repeats, µs per call (ratio to torch.einsum)\n")
    cols = ["plan", "execute", "contract", "torch.einsum", "oe.contract", "oe.expression"]
    print("| case | equation | " + " | ".join(cols) + " |")
    print("|---|---|" + "---:|" * len(cols))
    for name, equation, shapes in CASES:
        res = _bench_case(equation, shapes, args.repeats, args.budget_ms / 1e3, args.stat)
        base = res["torch.einsum"]
        cells = [f"{res[c]:.1f} ({res[c] / base:.2f})" for c in cols]
        print(f"| {name} | `{equation}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
