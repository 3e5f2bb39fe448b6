"""Traced periodic MPS ring built only from nodes and operations (the TK user idiom).

The network (same code for ``torchtn`` and ``tensorkrowch``) is a ``tk.TensorNetwork``
subclass with n ParamNodes ``(left, input, right)`` (bond D, input dim d=3) connected in
a ring, a ``set_data_nodes()`` override and this ``contract()``::

    stack_mats = tk.stack(self.mats)                          # (n, D, d, D)
    stack_data = tk.stack(data_nodes)                         # (n, B, d)
    stack_mats['input'] ^ stack_data['feature']
    result = stack_mats @ stack_data                          # (n, D, D, B)
    nodes = tk.unbind(result)
    res = nodes[0]
    for node in nodes[1:-1]:
        res @= node                                           # left-to-right chain
    res = tk.contract_edges([res['right']], res, nodes[-1])   # last link only
    return res @ res                                          # trace the ring: (B,)

The hand-written reference does the same sequence of operations in the best batch-first
layout: one bmm ``(n, B, d) x (n, d, D*D) -> (n, B, D, D)``, then n-1 ``bmm`` over
contiguous ``(B, D, D)`` slices, then the trace.

Measured: ``trace(example)`` (once, fresh network), forward under ``torch.no_grad()``,
and forward + ``out.sum().backward()``. Ratios: torchtn / hand-written (target <= 1.1)
and TK / hand-written, each timed alternately with the hand-written ring inside the
library's worker process (so that both sides of a ratio see the same machine load).
Cores are near the identity (``I + noise / sqrt(n D)``) and the inputs are positive and
sum to 1, so products of 784 matrices stay O(1). A float64 case checks outputs and
gradients of every library against the hand-written reference.

Usage::

    python benchmarks/bench_mps_ring.py            # n in {100, 784}, D in {10, 50}, B in {100, 500}
    python benchmarks/bench_mps_ring.py --quick    # n=10, D=2, B=8
    python benchmarks/bench_mps_ring.py --config 100 10 100 --config 784 10 100
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from typing import Any

import _harness as h
import torch

PHYS = 3
FULL_CONFIGS = [(100, 2, 8)] + [(n, D, B) for n in (100, 784) for D in (10, 50) for B in (100, 500)]
QUICK_CONFIGS = [(10, 2, 8)]
CHECK = {"n": 12, "D": 3, "B": 5, "dtype": "float64"}
CHECK_TOL = 1e-10
HEAD = 16  # output values compared in every timed case (float32)
ROUNDS = 3  # alternating library / hand-written rounds in a library worker

_CLASSES: dict[int, type] = {}


def make_inputs(
    n: int, D: int, B: int, dtype: torch.dtype, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cores ``(n, D, d, D)`` near the identity and data ``(B, n, d)`` on the simplex.

    Deterministic (own generator), so every worker process gets identical values.
    """
    g = torch.Generator().manual_seed(seed)
    eye = torch.eye(D, dtype=torch.float64)[:, None, :].expand(D, PHYS, D)
    noise = torch.randn(n, D, PHYS, D, generator=g, dtype=torch.float64)
    cores = (eye + noise / (n * D) ** 0.5).to(dtype)
    data = torch.rand(B, n, PHYS, generator=g, dtype=torch.float64)
    data = (data / data.sum(-1, keepdim=True)).to(dtype)
    return cores, data


def ring_class(tk: Any) -> type:
    """The user-level periodic MPS network class for library ``tk``."""
    if id(tk) in _CLASSES:
        return _CLASSES[id(tk)]

    class PeriodicMPS(tk.TensorNetwork):
        def __init__(self, cores: torch.Tensor) -> None:
            super().__init__(name="periodic_mps")
            n = cores.shape[0]
            self.mats = [
                tk.ParamNode(
                    tensor=cores[i].clone(),
                    axes_names=("left", "input", "right"),
                    name=f"mat_({i})",
                    network=self,
                )
                for i in range(n)
            ]
            for i in range(n):
                self.mats[i]["right"] ^ self.mats[(i + 1) % n]["left"]

        def set_data_nodes(self) -> None:
            super().set_data_nodes(
                input_edges=[node["input"] for node in self.mats], num_batch_edges=1
            )

        def contract(self) -> Any:
            stack_mats = tk.stack(self.mats)
            stack_data = tk.stack([node.neighbours("input") for node in self.mats])
            stack_mats["input"] ^ stack_data["feature"]
            result = stack_mats @ stack_data
            nodes = tk.unbind(result)
            res = nodes[0]
            for node in nodes[1:-1]:
                res @= node
            res = tk.contract_edges([res["right"]], res, nodes[-1])
            return res @ res

    _CLASSES[id(tk)] = PeriodicMPS
    return PeriodicMPS


class HandWrittenRing(torch.nn.Module):
    """Pure-PyTorch periodic MPS: the same operations in the best batch-first layout."""

    def __init__(self, cores: torch.Tensor) -> None:
        super().__init__()
        self.cores = torch.nn.Parameter(cores.clone())  # (n, D, d, D), TK's axis order

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        n, D, d, _ = self.cores.shape
        B = data.shape[0]
        weights = self.cores.permute(0, 2, 1, 3).reshape(n, d, D * D)
        mats = torch.bmm(data.transpose(0, 1), weights).view(n, B, D, D)
        # unbind, not mats[i]: the backward of each indexing op would allocate and fill
        # a zero tensor of the full (n, B, D, D) size (O(n^2) memory traffic); unbind's
        # backward stacks the n slice gradients once.
        slices = mats.unbind(0)
        res = slices[0]
        for mat in slices[1:]:
            res = torch.bmm(res, mat)
        return res.diagonal(dim1=-2, dim2=-1).sum(-1)


def _grads(lib: str, model: Any) -> torch.Tensor:
    if lib == "torch":
        return model.cores.grad
    return torch.stack([node.grad for node in model.mats])


def measure(lib: str, tk: Any, case: dict[str, Any]) -> dict[str, Any]:
    """Worker: trace / forward / forward+backward times (or the float64 check)."""
    dtype = getattr(torch, case.get("dtype", "float32"))
    cores, data = make_inputs(case["n"], case["D"], case["B"], dtype)
    model = HandWrittenRing(cores) if tk is None else ring_class(tk)(cores)
    out: dict[str, Any] = {}
    if tk is not None:
        out["trace"] = h.timed_once(lambda: model.trace(data))
    if case.get("check"):
        with torch.no_grad():
            values = model(data)
        model(data).sum().backward()
        out["out"] = values.tolist()
        out["grad"] = _grads(lib, model).flatten().tolist()
        return out
    min_time = case["min_time"]
    # A library worker also times the hand-written ring, alternately with its own, so the
    # ratio compares two measurements taken under the same load (see ``_paired``).
    hand = HandWrittenRing(cores) if tk is not None else None

    def forward(m: Any) -> Callable[[], Any]:
        def run() -> Any:
            with torch.no_grad():
                return m(data)

        return run

    def step(m: Any) -> Callable[[], Any]:
        return lambda: m(data).sum().backward()

    out["out_head"] = forward(model)()[:HEAD].tolist()
    for key, make in (("forward", forward), ("fwd_bwd", step)):
        if hand is None:
            out[key] = h.time_call(make(model), min_time=min_time)
        else:
            out[key], out[key + "_ratio"] = _paired(make(model), make(hand), min_time)
    return out


def _paired(lib: Callable[[], Any], ref: Callable[[], Any], min_time: float) -> tuple:
    """Library timing and median over ``ROUNDS`` rounds of (library / reference) time.

    Each round times the reference, then the library, for ``min_time / ROUNDS`` each; a
    burst of load from other processes then hits both sides of a pair.
    """
    per_round = min_time / ROUNDS
    h.time_call(ref, min_time=per_round)  # warm-up, discarded
    libs, ratios = [], []
    for _ in range(ROUNDS):
        r = h.time_call(ref, min_time=per_round).median
        t = h.time_call(lib, min_time=per_round)
        libs.append(t)
        ratios.append(t.median / r)
    best = sorted(libs, key=lambda t: t.median)[len(libs) // 2]
    return best, statistics.median(ratios)


def _ratio(res: dict | None, key: str, lib_t: float | None, hand_t: float | None):
    """The paired in-process ratio when measured, else the ratio across workers."""
    paired = h.value(res, key + "_ratio")
    return paired if paired is not None else h.ratio(lib_t, hand_t)


def report(configs: list[tuple[int, int, int]], metas: dict, results: dict) -> str:
    labels = [f"n={n} D={D} B={B}" for n, D, B in configs]
    get, out = h.report_head(
        "Traced periodic MPS ring (stack/unbind/@ chain/trace)",
        metas,
        results,
        len(configs),
        f"n={CHECK['n']}, D={CHECK['D']}, B={CHECK['B']}",
        CHECK_TOL,
    )

    def table(key: str, title: str, with_check: bool) -> list[str]:
        rows = []
        for k, label in enumerate(labels):
            r = {lib: get[lib][k + 1] for lib in h.LIBS}
            hand = h.value(r["torch"], key)
            tn = h.value(r["torchtn"], key)
            tkv = h.value(r["tensorkrowch"], key)
            row = [
                label,
                h.status(r["torch"]) or h.fmt_time(hand),
                h.status(r["torchtn"]) or h.fmt_time(tn),
                h.fmt_ratio(_ratio(r["torchtn"], key, tn, hand)),
                h.status(r["tensorkrowch"]) or h.fmt_time(tkv),
                h.fmt_ratio(_ratio(r["tensorkrowch"], key, tkv, hand)),
                h.fmt_ratio(h.ratio(tkv, tn)),
            ]
            if with_check:
                head = r["torch"].get("out_head") if r["torch"] else None
                for lib in ("torchtn", "tensorkrowch"):
                    got = r[lib].get("out_head") if r[lib] and not h.status(r[lib]) else None
                    err = h.rel_err(got, head)
                    row.append(h.NA if err is None else f"{err:.0e}")
            rows.append(row)
        headers = ["config", "hand-written", "torchtn", "tn/hand", "TK", "TK/hand", "TK/tn"]
        if with_check:
            headers += ["tn err", "TK err"]
        return ["", f"### {title}", "", h.markdown_table(headers, rows)]

    out += table("forward", "Forward, torch.no_grad() (after trace)", True)
    out += table("fwd_bwd", "Forward + out.sum().backward()", False)
    rows = []
    for k, label in enumerate(labels):
        row = [label]
        for lib in ("torchtn", "tensorkrowch"):
            res = get[lib][k + 1]
            row.append(h.status(res) or h.fmt_time(h.value(res, "trace")))
        rows.append(row)
    out += ["", "### trace(example), first trace of a fresh network", ""]
    out.append(h.markdown_table(["config", "torchtn", "TK"], rows))
    out += [
        "",
        "tn/hand target <= 1.10. tn/hand and TK/hand: median over "
        f"{ROUNDS} rounds of (library / hand-written) timed alternately in the library's "
        "worker process (the hand-written column is the torch worker's own timing). "
        "err = max |lib - hand| / max |hand| over the first "
        f"{HEAD} float32 outputs.",
    ]
    return h.with_footnotes(out, results, ["float64 check", *labels])


def main(argv: list[str] | None = None) -> int:
    parser = h.config_parser(
        __doc__,
        default_timeout=900.0,
        metavar=("N", "D", "B"),
        help_text="run this (sites, bond, batch) instead of the default set; repeatable",
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
    )


if __name__ == "__main__":
    sys.exit(main())
