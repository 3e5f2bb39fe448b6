"""``tk.models.MPSLayer``: training step, inference, trace time and peak memory.

For each (n_features, in_dim, bond_dim, batch) the model is
``tk.models.MPSLayer(n_features, in_dim, out_dim=10, bond_dim, boundary='obc')`` with
TK's defaults (``auto_stack=True``, default contract options), its tensors set with
``initialize(tensors=...)`` to deterministic near-identity cores (so every library and the
reference compute the same numbers), traced with
``mps.trace(torch.zeros(1, n_features - 1, in_dim))``. Measured:

* ``trace``: one call on a fresh model;
* inference: forward of a ``(batch, n_features - 1, in_dim)`` input under ``torch.no_grad()``;
* training step: forward, ``cross_entropy`` against random labels, ``zero_grad``,
  backward, ``Adam.step`` (optimizer built after tracing, as TK requires);
* peak tensor memory of trace, inference and training step (``_harness.peak_memory``);
* the compute floor: the multiply-adds of the contraction (:func:`macs`; training
  counts three times inference: forward, and per site the gradient of the running
  vector and of the core) divided by the multiply-adds per second of a large matrix
  product (:func:`matmul_rate`, ``1024 x 1024 x 1024`` in the benchmark's dtype), both
  on the same core in the hand-written reference's worker. ``tn/floor`` is how far
  torchtn is from it (1.0 would be every site's product at the speed of a large one).

The hand-written reference is a pure-PyTorch sweep differentiated by autograd: from the
left end to the output site and from the right end to it, contracting the running vector
with each core and its data vector on the fly (``O(n B D^2 d)``, no ``(n, B, D, D)``
intermediate), then the output core. It keeps the vector *batch-last*, ``(D, B)``, so a
site is one broadcast product ``(D, d, B)`` and one ``(D, d D) @ (d D, B)`` matrix
product, the fastest pure-PyTorch form we measured (about three times faster per site
than the batch-first ``(B, D) @ (D, d D)`` form on one CPU thread). A float64 case checks
outputs and gradients of every library against it.

Usage::

    python benchmarks/bench_mpslayer.py            # (785,3,10,500) (197,2,50,200) (101,3,10,100)
    python benchmarks/bench_mpslayer.py --quick    # (11,3,4,8)
"""

from __future__ import annotations

import sys
from typing import Any

import _harness as h
import torch
from torch.nn.functional import cross_entropy

OUT_DIM = 10
FULL_CONFIGS = [(785, 3, 10, 500), (197, 2, 50, 200), (101, 3, 10, 100)]
QUICK_CONFIGS = [(11, 3, 4, 8)]
CHECK = {"n": 9, "d": 3, "D": 4, "B": 5, "dtype": "float64"}
CHECK_TOL = 1e-10
LR = 1e-3


def make_tensors(
    n: int, d: int, D: int, dtype: torch.dtype, seed: int = 0
) -> tuple[list[torch.Tensor], int]:
    """User-visible OBC tensors near the identity, and the output position ``n // 2``.

    Shapes: first ``(d, D)``, middle ``(D, d, D)``, output ``(D, OUT_DIM, D)``, last
    ``(D, d)``. Each input core is ``I`` at physical index 0 plus noise of std
    ``1/sqrt(n D)``; the output core has ``I`` on every slice. With inputs whose
    component 0 is 1 (the polynomial embedding below) the chain stays O(1).
    """
    if n < 5:  # the reference needs input sites on both sides of the output site
        raise ValueError(f"n_features must be >= 5 for this benchmark, got {n}")
    g = torch.Generator().manual_seed(seed)
    std = 1.0 / (n * D) ** 0.5
    p = n // 2

    def core(left: int, phys: int, right: int, eye_all: bool) -> torch.Tensor:
        t = torch.randn(left, phys, right, generator=g, dtype=torch.float64) * std
        eye = torch.eye(left, right, dtype=torch.float64)
        if eye_all:
            t += eye[:, None, :]
        else:
            t[:, 0, :] += eye
        return t

    tensors = []
    for i in range(n):
        if i == p:
            tensors.append(core(D, OUT_DIM, D, True))
        elif i == 0:
            tensors.append(core(1, d, D, False)[0])
        elif i == n - 1:
            tensors.append(core(D, d, 1, False)[..., 0])
        else:
            tensors.append(core(D, d, D, False))
    return [t.to(dtype) for t in tensors], p


def macs(n: int, d: int, D: int, B: int, train: bool) -> int:
    """Multiply-adds of one forward (``train``: forward and backward) of the MPSLayer:
    ``n - 3`` inner sites of ``B d D^2``, two end sites of ``B d D`` and the output site
    of ``B D^2 OUT_DIM``; a backward costs two forwards."""
    forward = (n - 3) * B * d * D * D + 2 * B * d * D + B * D * D * OUT_DIM
    return 3 * forward if train else forward


def matmul_rate(dtype: torch.dtype, min_time: float, size: int = 1024) -> float:
    """Multiply-adds per second of a ``size``-cubed matrix product on this thread."""
    g = torch.Generator().manual_seed(2)
    a = torch.randn(size, size, generator=g, dtype=dtype)
    b = torch.randn(size, size, generator=g, dtype=dtype)
    out = torch.empty(size, size, dtype=dtype)
    seconds = h.time_call(lambda: torch.mm(a, b, out=out), min_time=min_time)["median"]
    return size**3 / seconds


def make_data(n: int, d: int, B: int, dtype: torch.dtype, seed: int = 1) -> tuple[Any, Any]:
    """Input ``(B, n - 1, d)`` = polynomial embedding ``[1, x, x^2, ...]``, and labels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, n - 1, generator=g, dtype=torch.float64)
    data = torch.stack([x**k for k in range(d)], dim=-1).to(dtype)
    labels = torch.randint(0, OUT_DIM, (B,), generator=g)
    return data, labels


class HandWrittenMPSLayer(torch.nn.Module):
    """Pure-PyTorch OBC MPS with one output site: two batch-last vector sweeps toward
    the output, recorded op by op by autograd."""

    def __init__(self, tensors: list[torch.Tensor], out_position: int) -> None:
        super().__init__()
        p, n = out_position, len(tensors)
        self.p = p
        P = torch.nn.Parameter
        self.first = P(tensors[0].clone())  # (d, D)
        self.left = P(torch.stack(tensors[1:p]))  # (p-1, D, d, D)
        self.out = P(tensors[p].clone())  # (D, o, D)
        self.right = P(torch.stack(tensors[p + 1 : n - 1]))  # (n-p-2, D, d, D)
        self.last = P(tensors[-1].clone())  # (D, d)

    def forward(self, data: torch.Tensor) -> torch.Tensor:
        B, _, d = data.shape
        D, o = self.out.shape[0], self.out.shape[1]
        p, m = self.p, self.right.shape[0]
        x = data.permute(1, 2, 0).contiguous()  # (n-1, d, B): batch-last per site
        # unbind, not left[i]: each indexing op's backward would fill a zero tensor of
        # the whole stacked parameter; unbind's backward stacks the slice gradients once.
        left = self.left.reshape(p - 1, D * d, D).transpose(1, 2).unbind(0)  # (D, D d)
        xl = x.unsqueeze(1)  # (n-1, 1, d, B)
        v = self.first.t() @ x[0]  # (D, B)
        for i in range(p - 1):  # site i+1, data i+1
            v = left[i] @ (v.unsqueeze(1) * xl[i + 1]).view(D * d, B)
        right = self.right.reshape(m, D, d * D).unbind(0)  # (D, d D)
        xr = x.unsqueeze(2)  # (n-1, d, 1, B)
        w = self.last @ x[-1]  # (D, B)
        for j in range(m - 1, -1, -1):  # site p+1+j, data p+j
            w = right[j] @ (xr[p + j] * w.unsqueeze(0)).view(d * D, B)
        t = (self.out.reshape(D * o, D) @ w).view(D, o, B)
        return (t * v.unsqueeze(1)).sum(0).t()  # (B, o)

    def visible_grads(self) -> list[torch.Tensor]:
        return [
            self.first.grad,
            *self.left.grad.unbind(0),
            self.out.grad,
            *self.right.grad.unbind(0),
            self.last.grad,
        ]


def build(tk: Any, case: dict[str, Any], dtype: torch.dtype) -> tuple[Any, int]:
    tensors, p = make_tensors(case["n"], case["d"], case["D"], dtype)
    if tk is None:
        return HandWrittenMPSLayer(tensors, p), p
    mps = tk.models.MPSLayer(
        n_features=case["n"],
        in_dim=case["d"],
        out_dim=OUT_DIM,
        bond_dim=case["D"],
        boundary="obc",
        dtype=dtype,
    )
    if mps.out_position != p:
        raise AssertionError(f"out_position {mps.out_position} != n_features // 2 = {p}")
    mps.initialize(tensors=tensors)
    return mps, p


def _lib_visible_grads(mps: Any) -> list[torch.Tensor]:
    grads = [node.grad for node in mps.mats_env]
    grads[0] = grads[0][0]  # left_node is e_0: the visible first tensor is T[0]
    grads[-1] = grads[-1][..., 0]
    return grads


def measure(lib: str, tk: Any, case: dict[str, Any]) -> dict[str, Any]:
    """Worker: trace / inference / training-step times and peak memories (or the check)."""
    dtype = getattr(torch, case.get("dtype", "float32"))
    n, d = case["n"], case["d"]
    model, _ = build(tk, case, dtype)
    data, labels = make_data(n, d, case["B"], dtype)
    example = torch.zeros(1, n - 1, d, dtype=dtype)
    out: dict[str, Any] = {}
    if tk is not None:
        out["trace"] = h.timed_once(lambda: model.trace(example))
    if case.get("check"):
        with torch.no_grad():
            values = model(data)
        cross_entropy(model(data), labels).backward()
        grads = model.visible_grads() if tk is None else _lib_visible_grads(model)
        out["out"] = values.flatten().tolist()
        out["grad"] = torch.cat([g.flatten() for g in grads]).tolist()
        return out
    min_time = case["min_time"]
    opt = torch.optim.Adam(model.parameters(), lr=LR)

    def infer() -> torch.Tensor:
        with torch.no_grad():
            return model(data)

    def train_step() -> None:
        opt.zero_grad()
        loss = cross_entropy(model(data), labels)
        loss.backward()
        opt.step()

    out["infer"] = h.time_call(infer, min_time=min_time)
    out["train"] = h.time_call(train_step, min_time=min_time)
    if tk is None:
        out["matmul_rate"] = matmul_rate(dtype, min_time)
    out["mem_infer"] = h.peak_memory(infer)
    out["mem_train"] = h.peak_memory(train_step)
    if tk is not None:
        fresh, _ = build(tk, case, dtype)
        out["mem_trace"] = h.peak_memory(lambda: fresh.trace(example))
    return out


def report(configs: list[tuple[int, int, int, int]], metas: dict, results: dict) -> str:
    labels = [f"n={n} d={d} D={D} B={B}" for n, d, D, B in configs]
    get, out = h.report_head(
        "MPSLayer (obc, out_dim=10, auto_stack, traced)",
        metas,
        results,
        len(configs),
        f"n_features={CHECK['n']}, in_dim={CHECK['d']}, bond={CHECK['D']}, B={CHECK['B']}",
        CHECK_TOL,
    )

    def time_table(key: str, title: str) -> list[str]:
        rows = []
        for k, (label, (n, d, D, B)) in enumerate(zip(labels, configs, strict=True)):
            r = {lib: get[lib][k + 1] for lib in h.LIBS}
            hand, tn, tkv = (h.value(r[lib], key) for lib in h.LIBS)
            rate = h.value(r["torch"], "matmul_rate")
            floor = None if rate is None else macs(n, d, D, B, key == "train") / rate
            rows.append(
                [
                    label,
                    h.fmt_time(floor) if floor is not None else h.NA,
                    h.status(r["torch"]) or h.fmt_time(hand),
                    h.status(r["torchtn"]) or h.fmt_time(tn),
                    h.fmt_ratio(h.ratio(tn, floor)),
                    h.fmt_ratio(h.ratio(tn, hand)),
                    h.status(r["tensorkrowch"]) or h.fmt_time(tkv),
                    h.fmt_ratio(h.ratio(tkv, hand)),
                    h.fmt_ratio(h.ratio(tkv, tn)),
                ]
            )
        headers = [
            "config",
            "floor",
            "hand-written",
            "torchtn",
            "tn/floor",
            "tn/hand",
            "TK",
            "TK/hand",
            "TK/tn",
        ]
        return ["", f"### {title}", "", h.markdown_table(headers, rows)]

    out += time_table("train", "Training step (forward, cross-entropy, backward, Adam)")
    out += time_table("infer", "Inference, torch.no_grad()")
    rows = []
    for k, label in enumerate(labels):
        r = {lib: get[lib][k + 1] for lib in h.LIBS}
        row = [label]
        for lib in ("torchtn", "tensorkrowch"):
            row.append(h.status(r[lib]) or h.fmt_time(h.value(r[lib], "trace")))
        for key in ("mem_trace", "mem_infer", "mem_train"):
            for lib in h.LIBS:
                if key == "mem_trace" and lib == "torch":
                    continue
                row.append(h.status(r[lib]) or h.fmt_bytes(h.value(r[lib], key)))
        rows.append(row)
    headers = [
        "config",
        "trace tn",
        "trace TK",
        "mem trace tn",
        "mem trace TK",
        "mem infer hand",
        "mem infer tn",
        "mem infer TK",
        "mem train hand",
        "mem train tn",
        "mem train TK",
    ]
    out += ["", "### trace time and peak tensor memory", "", h.markdown_table(headers, rows)]
    rates = [h.value(get["torch"][k + 1], "matmul_rate") for k in range(len(configs))]
    rates = [f"{r / 1e9:.1f}" for r in rates if r is not None]
    out += [
        "",
        "mem = peak bytes of live tensors allocated during the call (torch profiler "
        "allocation events), above the level at its start.",
        "floor = multiply-adds of the contraction / multiply-adds per second of a "
        f"1024^3 matrix product on the same thread ({', '.join(rates) or 'n/a'} GMAC/s "
        "measured in the hand-written worker, per case).",
    ]
    return h.with_footnotes(out, results, ["float64 check", *labels])


def main(argv: list[str] | None = None) -> int:
    parser = h.config_parser(
        __doc__,
        default_timeout=900.0,
        metavar=("N_FEATURES", "IN_DIM", "BOND", "BATCH"),
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
        keys=("n", "d", "D", "B"),
    )


if __name__ == "__main__":
    sys.exit(main())
