"""Per-call overhead of cached node operations over the raw torch call.

Each operation is called once (the "first call", which validates, creates the
resultant node and caches a successor) and then timed on repeated calls, which take the
cached path and only recompute the tensor. The raw torch equivalent is timed in the same
worker process on the same tensors; overhead = library time - torch time. Target for
torchtn: overhead <= 5 µs per call.

| op | library call | torch equivalent |
|---|---|---|
| `a @ b` | one bond, (4,5,6) x (6,5) | `torch.tensordot(A, B, dims=([2], [0]))` |
| `a @ b` | the same call | `torch.matmul(A, B)` (valid here: the bond is last in A, first in B) |

For `a @ b` the ``torch.matmul`` row is the one the target applies to: it is the cheapest
torch call giving the same tensor in the same axis order (the library's result is
``(i, j, l)``, as both references'); the tensordot row is for information (tensordot
permutes and reshapes in Python). For stack and unbind the references do exactly the
library's tensor work on the same 100 tensors; the library additionally stores the
result(s) in node memory (one slot for stack, 100 for unbind), which the raw calls do
not. For einsum the reference is ``torch.einsum`` with the same equation (tk.einsum's
compiled plan beats it; against ``torch.matmul``, which this particular equation reduces
to, it is ~7 µs slower).
| stack | `tk.stack` of 100 plain (4,5,6) Nodes, auto_stack off (recomputes) | `torch.stack` |
| unbind | `tk.unbind` of that stack (auto_unbind off) | `torch.unbind` |
| einsum | `tk.einsum('ijk,kl->ijl', a, b)` | `torch.einsum` |
| permute | `a.permute((2, 0, 1))` | `A.permute(2, 0, 1)` |
| mul | `a * c`, c a node of the same shape | `A * C` |

Usage::

    python benchmarks/bench_ops.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _harness as h
import torch

OPS = ("matmul", "matmul_mm", "stack", "unbind", "einsum", "permute", "mul")
LABELS = {
    "matmul": "a @ b vs tensordot",
    "matmul_mm": "a @ b vs torch.matmul",
    "stack": "stack 100 nodes (4,5,6)",
    "unbind": "unbind 100 nodes",
    "einsum": "einsum 'ijk,kl->ijl'",
    "permute": "permute (4,5,6)",
    "mul": "mul by node (4,5,6)",
}
N_STACK = 100
TARGET_US = 5.0
ROUNDS = 5


def _tensors(seed: int = 0) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    return {
        "A": torch.randn(4, 5, 6, generator=g),
        "B": torch.randn(6, 5, generator=g),
        "C": torch.randn(4, 5, 6, generator=g),
        "list": [torch.randn(4, 5, 6, generator=g) for _ in range(N_STACK)],
    }


def raw_op(op: str, t: dict[str, Any]) -> Callable[[], Any]:
    """The plain-torch call equivalent to ``op`` on the tensors ``t``."""
    A, B, C, tensors = t["A"], t["B"], t["C"], t["list"]
    if op == "matmul":
        return lambda: torch.tensordot(A, B, dims=([2], [0]))
    if op == "matmul_mm":  # the cheapest raw call for this particular layout
        return lambda: torch.matmul(A, B)
    if op == "stack":
        return lambda: torch.stack(tensors)
    if op == "unbind":
        S = torch.stack(tensors)
        return lambda: torch.unbind(S)
    if op == "einsum":
        return lambda: torch.einsum("ijk,kl->ijl", A, B)
    if op == "permute":
        return lambda: A.permute(2, 0, 1)
    if op == "mul":
        return lambda: A * C
    raise ValueError(f"unknown op {op!r}; expected one of {OPS}")


def lib_op(tk: Any, op: str, t: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Builds the nodes for ``op``; returns (library call, function giving its tensor)."""
    net = tk.TensorNetwork(name="ops")
    axes = ("i", "j", "k")
    a = tk.Node(tensor=t["A"], axes_names=axes, name="a", network=net)
    b = tk.Node(tensor=t["B"], axes_names=("k", "l"), name="b", network=net)
    c = tk.Node(tensor=t["C"], axes_names=axes, name="c", network=net)
    a["k"] ^ b["k"]
    if op in ("stack", "unbind"):
        net.auto_stack = False  # plain stacking: the stack is recomputed on every call
        net.auto_unbind = False
        nodes = [
            tk.Node(tensor=x, axes_names=axes, name=f"s_({i})", network=net)
            for i, x in enumerate(t["list"])
        ]
        if op == "stack":
            return (lambda: tk.stack(nodes)), lambda r: r.tensor
        stacked = tk.stack(nodes)
        return (lambda: tk.unbind(stacked)), lambda r: [n.tensor for n in r]
    if op in ("matmul", "matmul_mm"):
        return (lambda: a @ b), lambda r: r.tensor
    if op == "einsum":
        return (lambda: tk.einsum("ijk,kl->ijl", a, b)), lambda r: r.tensor
    if op == "permute":
        return (lambda: a.permute((2, 0, 1))), lambda r: r.tensor
    if op == "mul":
        return (lambda: a * c), lambda r: r.tensor
    raise ValueError(f"unknown op {op!r}; expected one of {OPS}")


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, (list, tuple)):
        return len(x) == len(y) and all(_same(u, v) for u, v in zip(x, y, strict=True))
    return x.shape == y.shape and torch.allclose(x, y, rtol=1e-5, atol=1e-6)


def measure(lib: str, tk: Any, case: dict[str, Any]) -> dict[str, Any]:
    """Worker: every op of ``case["ops"]``; an op that fails gets ``{"error": ...}``."""
    out: dict[str, Any] = {}
    for op in case["ops"]:
        try:
            out[op] = measure_op(tk, op, case["min_time"])
        except Exception as exc:  # noqa: BLE001 - reported per op, the others still run
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
            out[op] = {"error": f"{type(exc).__name__}: {exc}{where}"}
    return out


def measure_op(tk: Any, op: str, min_time: float) -> dict[str, Any]:
    """µs per cached library call and per raw torch call, same process.

    The two are timed in alternation over ``ROUNDS`` rounds and the medians over rounds
    are reported; the overhead is the median of the per-round differences, so a burst of
    load from other processes on a shared machine hits both sides of a pair.
    """
    t = _tensors()
    raw = raw_op(op, t)
    per_round = min_time / ROUNDS
    with torch.no_grad():
        call = None
        if tk is not None:
            call, tensor_of = lib_op(tk, op, t)
            first = call()  # first call: validation, resultant creation, successor
            if not _same(tensor_of(first), raw()):
                raise AssertionError(f"{op}: first-call result differs from torch")
            again = call()
            if not _same(tensor_of(again), raw()):
                raise AssertionError(f"{op}: cached-call result differs from torch")
        h.time_call(raw, min_time=per_round)  # process warm-up, discarded
        raws, libs = [], []
        for _ in range(ROUNDS):
            raws.append(h.time_call(raw, min_time=per_round).median)
            if call is not None:
                libs.append(h.time_call(call, min_time=per_round).median)
    out: dict[str, Any] = {"torch": statistics.median(raws), "rounds": ROUNDS}
    if libs:
        out["lib"] = statistics.median(libs)
        out["overhead"] = statistics.median(x - y for x, y in zip(libs, raws, strict=True))
    return out


def report(metas: dict, results: dict) -> str:
    rows = []
    for k, op in enumerate(OPS):
        # Every worker times the raw call; the median over workers damps one-off outliers.
        raws = [h.value(results[lib][k], "torch") for lib in results]
        raws = [r for r in raws if r is not None]
        torch_s = statistics.median(raws) if raws else None
        row: list[Any] = [LABELS[op], h.fmt_time(torch_s, "µs")]
        lib_s = {}
        for lib in ("torchtn", "tensorkrowch"):
            res = results.get(lib, [None] * len(OPS))[k]
            lib_t, overhead = h.value(res, "lib"), h.value(res, "overhead")
            lib_s[lib] = lib_t
            row += [
                h.status(res) or h.fmt_time(lib_t, "µs"),
                h.NA if overhead is None else f"{overhead * 1e6:+.1f} µs",
            ]
            if lib == "torchtn":
                row.append(
                    h.NA if overhead is None else ("ok" if overhead * 1e6 <= TARGET_US else "OVER")
                )
        row.append(h.fmt_ratio(h.ratio(lib_s["tensorkrowch"], lib_s["torchtn"])))
        rows.append(row)
    headers = [
        "op (cached call)",
        "torch",
        "torchtn",
        "tn overhead",
        f"<= {TARGET_US:g} µs",
        "TK",
        "TK overhead",
        "TK/torchtn",
    ]
    out = [
        h.machine_header("Cached-operation overhead over the raw torch call", metas),
        "",
        h.markdown_table(headers, rows),
        "",
        "overhead = median over rounds of (library µs/call - torch µs/call), both timed "
        "alternately in the same worker process; torch column: median over the workers.",
    ]
    notes = h.footnotes(results, [LABELS[op] for op in OPS])
    if notes:
        out += ["", notes]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(parser, default_timeout=120.0)
    args = parser.parse_args(argv)
    if args.worker:
        h.worker_main(args.worker, measure)
        return 0
    min_time = 0.05 if args.quick else 0.5
    # One case holding every op: one worker per library (ops are timed alternately with
    # torch inside the worker, which is what protects them from load changes).
    metas, results = h.run_cases(__file__, [{"ops": OPS, "min_time": min_time}], args)
    for lib, (res,) in results.items():
        failed = "error" in res or "timeout" in res  # the whole worker, not one op
        results[lib] = [res if failed else res.get(op, {"error": "not measured"}) for op in OPS]
    print(report(metas, results))
    h.dump_json(args, metas=metas, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
