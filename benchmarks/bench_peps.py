"""PEPS classifier training step: torchtn vs TensorKrowch 1.1.6, same run.

For each ``(rows, cols, bond, batch)``: ``tk.models.PEPS(rows, cols, in_dim=2,
bond_dim=[bond, bond])`` (obc/obc), traced with ``max_bond`` (TK's default 32 unless
``--max-bond`` is given), trained as a binary classifier: forward (one logit per
sample), ``binary_cross_entropy_with_logits``, backward, ``Adam.step``. Both libraries
get the same sites (``e_0`` on every bond plus noise of std 0.1, so outputs stay O(1))
and the same data (embedding ``[1, x]``, ``x`` uniform in [0, 1]).

Before each Adam step the gradients go through ``torch.nan_to_num_`` in both libraries:
torch's SVD backward returns NaN when two *discarded* singular values are exactly equal
(0/0), which float32 boundary-MPS truncation hits on near-product states. TensorKrowch
does an SVD at every step of its sweep even when nothing is truncated, so it hits it on
every grid wider than 3 columns (without the guard its second step fails with
"linalg.svd: ... non-finite values"). torchtn contracts exactly, with no SVD, whenever
``max_bond`` does not truncate (column ``plan``).

A float64 check compares the outputs of both libraries on a 4x4, bond-2 grid with
``max_bond=2`` (truncating), which must agree to 1e-10. There is no hand-written
reference for this benchmark.

Usage::

    python benchmarks/bench_peps.py                 # default grid list
    python benchmarks/bench_peps.py --quick         # (3,3,2,8) (4,4,2,8)
    python benchmarks/bench_peps.py --config 12 12 2 100 --max-bond 16 --no-tk
"""

from __future__ import annotations

import sys
from typing import Any

import _harness as h
import torch
from torch.nn.functional import binary_cross_entropy_with_logits

FULL_CONFIGS = [(4, 4, 2, 100), (8, 8, 2, 100), (8, 8, 2, 200), (8, 8, 3, 100), (10, 10, 2, 100)]
QUICK_CONFIGS = [(3, 3, 2, 8), (4, 4, 2, 8)]
CHECK = {"rows": 4, "cols": 4, "D": 2, "B": 5, "max_bond": 2, "dtype": "float64"}
CHECK_TOL = 1e-10
LIBS = ("torchtn", "tensorkrowch")
LR = 1e-3
NOISE = 0.1


def build(tk: Any, case: dict[str, Any], dtype: torch.dtype) -> Any:
    """The PEPS with near-product sites, identical in both libraries."""
    peps = tk.models.PEPS(case["rows"], case["cols"], 2, [case["D"], case["D"]])
    gen = torch.Generator().manual_seed(0)
    for node in peps.leaf_nodes.values():  # same creation order in both libraries
        t = torch.zeros(node.shape, dtype=torch.float64)
        t[(0,) * len(node.shape)] = 1.0
        t += NOISE * torch.randn(node.shape, generator=gen, dtype=torch.float64)
        node.tensor = t.to(dtype)
    return peps


def make_data(n: int, B: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Input ``(B, n, 2)`` = ``[1, x]`` per site, and binary labels ``(B,)``."""
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(B, n, generator=gen, dtype=torch.float64)
    data = torch.stack([torch.ones_like(x), x], dim=-1).to(dtype)
    labels = (x.mean(dim=1) > 0.5).to(dtype)
    return data, labels


def measure(lib: str, tk: Any, case: dict[str, Any]) -> dict[str, Any]:
    """Worker: trace time, training-step time (or the float64 check)."""
    dtype = getattr(torch, case.get("dtype", "float32"))
    model = build(tk, case, dtype)
    n = case["rows"] * case["cols"]
    data, labels = make_data(n, case["B"], dtype)
    mb = case["max_bond"]
    out: dict[str, Any] = {}
    out["trace"] = h.timed_once(lambda: model.trace(torch.zeros(1, n, 2, dtype=dtype), max_bond=mb))
    out["plan"] = getattr(model, "contraction_plan", None) or "boundary (SVD)"
    if case.get("check"):
        with torch.no_grad():
            out["out"] = model(data).flatten().tolist()
        return out
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def train_step() -> None:
        opt.zero_grad()
        loss = binary_cross_entropy_with_logits(model(data), labels)
        loss.backward()
        for p in model.parameters():
            if p.grad is not None:
                torch.nan_to_num_(p.grad, nan=0.0, posinf=0.0, neginf=0.0)
        opt.step()

    out["train"] = h.time_call(train_step, min_time=case["min_time"])
    return out


def report(configs: list[tuple[int, ...]], max_bond: int, metas: dict, results: dict) -> str:
    labels = [f"{r}x{c} D={D} B={B}" for r, c, D, B in configs]
    get = {lib: results.get(lib, [None] * (len(configs) + 1)) for lib in LIBS}
    out = [h.machine_header(f"PEPS classifier training step (obc, max_bond={max_bond})", metas)]
    tn0, tk0 = get["torchtn"][0], get["tensorkrowch"][0]
    if h.status(tn0) or h.status(tk0):
        line = f"- n/a (torchtn: {h.status(tn0) or 'ok'}, TK: {h.status(tk0) or 'ok'})"
    else:
        err = h.rel_err(tn0["out"], tk0["out"])
        verdict = "PASS" if err <= CHECK_TOL else "FAIL"
        line = f"- torchtn vs TK outputs: rel err {err:.1e} -> {verdict} (plan {tn0['plan']})"
    out += [
        "",
        f"Validation (float64, {CHECK['rows']}x{CHECK['cols']}, bond={CHECK['D']}, "
        f"B={CHECK['B']}, max_bond={CHECK['max_bond']}, truncating; tol {CHECK_TOL:g}):",
        line,
    ]
    rows = []
    for k, label in enumerate(labels):
        r = {lib: get[lib][k + 1] for lib in LIBS}
        tn, tkv = (h.value(r[lib], "train") for lib in LIBS)
        rows.append(
            [
                label,
                h.status(r["torchtn"]) or str(r["torchtn"].get("plan")),
                h.status(r["torchtn"]) or h.fmt_time(tn),
                h.status(r["tensorkrowch"]) or h.fmt_time(tkv),
                h.fmt_ratio(h.ratio(tkv, tn)),
                h.status(r["torchtn"]) or h.fmt_time(h.value(r["torchtn"], "trace")),
                h.status(r["tensorkrowch"]) or h.fmt_time(h.value(r["tensorkrowch"], "trace")),
            ]
        )
    headers = ["config", "tn plan", "torchtn step", "TK step", "TK/tn", "trace tn", "trace TK"]
    out += [
        "",
        "### Training step (forward, BCE-with-logits, backward, Adam)",
        "",
        h.markdown_table(headers, rows),
    ]
    return h.with_footnotes(out, results, ["float64 check", *labels])


def main(argv: list[str] | None = None) -> int:
    parser = h.config_parser(
        __doc__,
        default_timeout=600.0,
        metavar=("ROWS", "COLS", "BOND", "BATCH"),
    )
    parser.add_argument(
        "--max-bond", type=int, default=32, help="max_bond of contract (default 32, TK's)"
    )
    args = parser.parse_args(argv)
    return h.run_config_script(
        __file__,
        args,
        measure,
        lambda configs, metas, results: report(configs, args.max_bond, metas, results),
        check=CHECK,
        quick=QUICK_CONFIGS,
        full=FULL_CONFIGS,
        keys=("rows", "cols", "D", "B"),
        libs=LIBS,
        extra={"max_bond": args.max_bond},
    )


if __name__ == "__main__":
    sys.exit(main())
