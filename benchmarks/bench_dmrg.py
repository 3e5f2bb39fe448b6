"""``tk.train.DMRG``: time of one two-site update against the chain length.

For each (n_sites, bond, batch) an open MPS of binary sites (deterministic near-identity
cores, as in ``bench_born``) is trained as a Born machine (``loss='nll'``,
``n_steps=1``, Adam, ``max_bond=bond``) on ``batch`` random configurations.
``prepare()`` builds the cached environments once (timed once, it is ``O(n)``); then
updates of the middle bond are timed, alternating ``'right'`` and ``'left'`` so the
centre comes back (each update: one optimizer step on the merged block, SVD, split,
one environment step). With the environments cached an update costs work
proportional to the block and the batch, not to the chain: the ratio of the update
times at 784 and at 64 sites (same bond and batch) should stay below 2.

The hand-written reference is one *global* gradient step of the same NLL in pure
PyTorch (renormalised sweeps for ``log |psi|^2`` and ``log Z`` over every core,
backward, Adam), which is ``O(n)``: the column ``global/update`` says how many DMRG
updates one global step costs. TensorKrowch has no DMRG. A float64 case checks the
sweeper's loss against the reference NLL on the same cores and data.

Usage::

    python benchmarks/bench_dmrg.py            # n in {64, 784} x D in {10, 32}, batch 100
    python benchmarks/bench_dmrg.py --quick    # n in {16, 64}, D 4, batch 20
"""

from __future__ import annotations

import sys
from typing import Any

import _harness as h
import torch
from bench_born import configs_x, make_cores, ref_log_prob

FULL_CONFIGS = [(64, 10, 100), (784, 10, 100), (64, 32, 100), (784, 32, 100)]
QUICK_CONFIGS = [(16, 4, 20), (64, 4, 20)]
CHECK = {"n": 9, "D": 3, "B": 12, "dtype": "float64"}
CHECK_TOL = 1e-10
LIBS = ("torch", "torchtn")


def measure(lib: str, tk: Any, case: dict[str, Any]) -> dict[str, Any]:
    dtype = getattr(torch, case.get("dtype", "float32"))
    n, D, B = case["n"], case["D"], case["B"]
    cores = make_cores(n, D, dtype)
    x = configs_x(n, B)
    min_time = case.get("min_time", 1.0)
    if lib == "torch":
        leaves = [c.clone().requires_grad_(True) for c in cores]
        if case.get("check"):
            return {"out": [float(-ref_log_prob(leaves, x).mean())]}
        opt = torch.optim.Adam(leaves, lr=1e-3)

        def step() -> None:
            loss = -ref_log_prob(leaves, x).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

        return {"global": h.time_call(step, min_time=min_time)}
    if lib != "torchtn":
        raise NotImplementedError(f"{lib} has no DMRG")
    user = [cores[0][0]] + [c.clone() for c in cores[1:-1]] + [cores[-1][..., 0]]
    mps = tk.models.MPS(tensors=user)
    dmrg = tk.train.DMRG(mps, loss="nll", n_steps=1, lr=1e-3, max_bond=D)
    dmrg.set_data(x)
    if case.get("check"):
        dmrg.prepare()
        return {"out": [dmrg.evaluate()]}
    prepare = h.timed_once(dmrg.prepare)
    bond = n // 2
    for b in range(bond):  # bring the centre to the middle bond
        dmrg.update(b, "right")

    def pair() -> None:
        dmrg.update(bond, "right")
        dmrg.update(bond, "left")

    t = h.time_call(pair, min_time=min_time)
    per_update = h.Timing(
        {k: (v / 2 if k in ("median", "min", "iqr") else v) for k, v in t.items()}
    )
    # "bond": what the timed block was last split into (capped at D)
    return {"update": per_update, "prepare": prepare, "bond": dmrg.bond_dims()[bond]}


def report(configs: list[tuple], metas: dict, results: dict) -> str:
    get = {lib: results.get(lib, [None] * (len(configs) + 1)) for lib in LIBS}
    lines = h.check_lines(get["torch"][0], {"torchtn": get["torchtn"][0]}, ("out",), CHECK_TOL)
    out = [
        h.machine_header("DMRG: time per two-site update vs chain length", metas),
        "",
        f"Validation (float64, n={CHECK['n']} D={CHECK['D']} B={CHECK['B']}, sweeper NLL "
        f"vs hand-written NLL, tol {CHECK_TOL:g}):",
        *lines,
        "",
    ]
    rows, labels = [], []
    for k, (n, D, B) in enumerate(configs, start=1):
        hand, tn = get["torch"][k], get["torchtn"][k]
        labels.append(f"{n},{D},{B}")
        upd, glob = h.value(tn, "update"), h.value(hand, "global")
        rows.append(
            [
                f"{n}, {D}, {B}",
                str((tn or {}).get("bond", h.NA)),
                h.fmt_time(upd) if upd else h.status(tn),
                h.fmt_time(h.value(tn, "prepare")) if upd else h.status(tn),
                h.fmt_time(glob) if glob else h.status(hand),
                h.fmt_ratio(h.ratio(glob, upd)),
            ]
        )
    headers = [
        "n, D, B",
        "block bond",
        "tn update",
        "tn prepare",
        "hand global step",
        "global/update",
    ]
    out.append(h.markdown_table(headers, rows))
    out += ["", "Locality (update time at the longest chain / at the shortest, same D and B):"]
    by_db: dict[tuple, list[tuple[int, float | None]]] = {}
    for k, (n, D, B) in enumerate(configs, start=1):
        by_db.setdefault((D, B), []).append((n, h.value(get["torchtn"][k], "update")))
    for (D, B), items in by_db.items():
        items.sort()
        (n0, t0), (n1, t1) = items[0], items[-1]
        r = h.ratio(t1, t0)
        verdict = "n/a" if r is None else ("PASS" if r < 2 else "FAIL")
        out.append(f"- D={D} B={B}: n={n1} / n={n0}: {h.fmt_ratio(r)} (target < 2) -> {verdict}")
    return h.with_footnotes(out, {lib: get[lib][1:] for lib in LIBS}, labels)


def main(argv: list[str] | None = None) -> int:
    parser = h.config_parser(
        __doc__,
        default_timeout=900.0,
        metavar=("N_SITES", "BOND", "BATCH"),
    )
    args = parser.parse_args(argv)
    return h.run_config_script(
        __file__,
        args,
        measure,
        report,
        check=CHECK,
        quick=QUICK_CONFIGS,
        full=FULL_CONFIGS,
        keys=("n", "D", "B"),
        libs=LIBS,
        min_time=(0.2, 1.0),
    )


if __name__ == "__main__":
    sys.exit(main())
