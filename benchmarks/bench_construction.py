"""Construction cost: build and connect a ring of N nodes (torchtn vs TensorKrowch).

Issue: "Building and connecting a 10,000-node ring costs time linear in the number of
nodes; TK grows quadratically". For each N this times, in a fresh process per library
and N, the TK idiom::

    net = tk.TensorNetwork()
    nodes = [tk.randn(shape=(2, 3, 2), axes_names=('left', 'input', 'right'),
                      name=f'node_({i})', network=net) for i in range(N)]
    for i in range(N):
        nodes[i]['right'] ^ nodes[(i + 1) % N]['left']

and reports build, connect and total times, microseconds per node, and the per-node
growth factor ``(total/N at N) / (total/N at the smallest N)``: about 1 for linear
construction, about ``N / N_min`` for quadratic. There is no hand-written reference (a
ring of plain tensors costs nothing); the ratio is TK / torchtn.

Usage::

    python benchmarks/bench_construction.py            # N = 100, 1000, 3000, 10000
    python benchmarks/bench_construction.py --quick    # N = 50, 200
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from typing import Any

import _harness as h

FULL_SIZES = (100, 1000, 3000, 10000)
QUICK_SIZES = (50, 200)


def build_ring(tk: Any, n: int) -> tuple[Any, float, float]:
    """Builds and connects the ring; returns (network, build seconds, connect seconds)."""
    t0 = time.perf_counter()
    net = tk.TensorNetwork()
    nodes = [
        tk.randn(
            shape=(2, 3, 2),
            axes_names=("left", "input", "right"),
            name=f"node_({i})",
            network=net,
        )
        for i in range(n)
    ]
    t1 = time.perf_counter()
    for i in range(n):
        nodes[i]["right"] ^ nodes[(i + 1) % n]["left"]
    t2 = time.perf_counter()
    return net, t1 - t0, t2 - t1


def measure(lib: str, tk: Any, case: dict[str, Any]) -> dict[str, Any]:
    """Worker: median build/connect times of an N-node ring (single run for big N)."""
    n = case["n"]
    build_ring(tk, 50)  # warm imports and caches
    repeats = 5 if n <= 1000 else 1
    builds, connects = [], []
    for _ in range(repeats):
        gc.collect()
        net, build, connect = build_ring(tk, n)
        builds.append(build)
        connects.append(connect)
        if len(net.edges) != n:  # only the n 'input' edges stay dangling
            raise AssertionError(f"expected {n} dangling edges, got {len(net.edges)}")
        if len(net.leaf_nodes) != n:
            raise AssertionError(f"expected {n} leaf nodes, got {len(net.leaf_nodes)}")
        del net
    totals = sorted(b + c for b, c in zip(builds, connects, strict=True))
    return {
        "build": sorted(builds)[len(builds) // 2],
        "connect": sorted(connects)[len(connects) // 2],
        "total": totals[len(totals) // 2],
        "repeats": repeats,
    }


def report(sizes: tuple[int, ...], metas: dict, results: dict) -> str:
    libs = [lib for lib in ("torchtn", "tensorkrowch") if lib in results]
    base: dict[str, float | None] = {}
    rows = []
    for k, n in enumerate(sizes):
        row: list[Any] = [n]
        totals = {}
        for lib in libs:
            res = results[lib][k]
            total = h.value(res, "total")
            totals[lib] = total
            per_node = None if total is None else total / n
            if k == 0:
                base[lib] = per_node
            growth = h.ratio(per_node, base.get(lib))
            mark = h.status(res)
            row += [
                mark or h.fmt_time(h.value(res, "build")),
                mark or h.fmt_time(h.value(res, "connect")),
                mark or h.fmt_time(total),
                mark or f"{per_node * 1e6:.1f}",
                mark or h.fmt_ratio(growth),
            ]
        tk_total = totals.get("tensorkrowch")
        if (
            tk_total is None
            and results.get("tensorkrowch")
            and "timeout" in (results["tensorkrowch"][k] or {})
        ):
            tk_total = results["tensorkrowch"][k]["timeout"]  # a lower bound
            tn_total = totals.get("torchtn")
            cell = ">" + h.fmt_ratio(h.ratio(tk_total, tn_total)) if tn_total else h.NA
        else:
            cell = h.fmt_ratio(h.ratio(tk_total, totals.get("torchtn")))
        row.append(cell)
        rows.append(row)
    headers = ["N"]
    short = {"torchtn": "tn", "tensorkrowch": "TK"}
    for lib in libs:
        s = short[lib]
        headers += [f"{s} build", f"{s} connect", f"{s} total", f"{s} µs/node", f"{s} growth"]
    headers.append("TK/torchtn")
    out = [
        h.machine_header("Construction: ring of N nodes, build + connect", metas),
        "",
        h.markdown_table(headers, rows),
        "",
        f"growth = per-node time at N / per-node time at N={sizes[0]} "
        "(1.0 = linear total cost; N/N0 = quadratic).",
    ]
    notes = h.footnotes(results, [f"N={n}" for n in sizes])
    if notes:
        out += ["", notes]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.add_common_args(parser, default_timeout=300.0)
    args = parser.parse_args(argv)
    if args.worker:
        h.worker_main(args.worker, measure)
        return 0
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    cases = [{"n": n} for n in sizes]
    # One fresh worker per (library, N), so the growth curve is not distorted by garbage
    # left from the previous size.
    metas, results = h.run_cases(__file__, cases, args, libs=("torchtn", "tensorkrowch"))
    print(report(sizes, metas, results))
    h.dump_json(args, sizes=sizes, metas=metas, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
