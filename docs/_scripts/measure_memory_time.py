"""Measure the table of the "Saving memory and time" tutorial.

A periodic ring of ``n`` matrices (bond ``D``, input dimension 3), written with nodes
and operations as in the tutorial, is run in five set-ups: every call a first call
(``reset()`` before each forward), replay without ``trace``, replay after ``trace``, and
the traced replay with ``auto_stack`` off or ``auto_unbind`` on. For each it reports the
median time of an inference forward and of a training step (forward + backward), the
peak tensor memory allocated during an inference forward, and the tensor memory the
network still holds after it. Timing and memory come from ``benchmarks/_harness.py``
(median of repeats, one thread; peak from the profiler's allocation events).

    .venv/bin/python docs/_scripts/measure_memory_time.py [--quick] [--n 100 --bond 10 --batch 100]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _harness  # noqa: E402

import torchtn as tk  # noqa: E402


class Ring(tk.TensorNetwork):
    """The tutorial's ring: stack the cores and the data, contract, unbind, chain."""

    def __init__(self, n: int, bond: int, d: int = 3):
        super().__init__(name="ring")
        self.mats = [
            tk.randn(
                (bond, d, bond),
                axes_names=("left", "input", "right"),
                name=f"mat_({i})",
                network=self,
                param_node=True,
                std=0.1,
            )
            for i in range(n)
        ]
        eye = torch.eye(bond).unsqueeze(1)
        for i, m in enumerate(self.mats):
            m.tensor = m.tensor + eye  # near-identity cores keep long chains finite
            m["right"] ^ self.mats[(i + 1) % n]["left"]

    def set_data_nodes(self):
        super().set_data_nodes(input_edges=[m["input"] for m in self.mats], num_batch_edges=1)

    def contract(self):
        mats, data = tk.stack(self.mats), tk.stack(list(self.data_nodes.values()))
        mats ^ data
        result = tk.unbind(mats @ data)
        out = result[0]
        for node in result[1:]:
            out @= node
        return out


def held_bytes(net: tk.TensorNetwork) -> int:
    """Bytes of the distinct tensors stored in the network's memory (parameters included)."""
    seen, total = set(), 0
    for t in net._memory_nodes.values():
        if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in seen:
            seen.add(t.untyped_storage().data_ptr())
            total += t.untyped_storage().nbytes()
    return total


SETUPS = [
    ("every call a first call (`reset()` each time)", dict(trace=False, reset=True)),
    ("replay, not traced", dict(trace=False)),
    ("replay after `trace()` (default options)", dict(trace=True)),
    ("traced, `auto_stack = False`", dict(trace=True, auto_stack=False)),
    ("traced, `auto_unbind = True`", dict(trace=True, auto_unbind=True)),
]


def _setup(opts: dict, n: int, bond: int, x: torch.Tensor):
    torch.manual_seed(0)
    net = Ring(n, bond)
    net.auto_stack = opts.get("auto_stack", True)
    net.auto_unbind = opts.get("auto_unbind", False)
    if opts["trace"]:
        net.trace(x[:1])
    else:
        net(x)

    def infer():
        with torch.no_grad():
            if opts.get("reset"):
                net.reset()
            return net(x)

    def train():
        if opts.get("reset"):
            net.reset()
        net(x).sum().backward()

    return net, infer, train


def measure(n: int, bond: int, batch: int, min_time: float, rounds: int) -> list[dict]:
    """Median over ``rounds`` rounds; each round times every set-up in turn, so load from
    other processes on a shared machine hits them alike."""
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, n, 3, generator=gen)
    x = x / x.sum(-1, keepdim=True)
    setups = [(label, *_setup(opts, n, bond, x)) for label, opts in SETUPS]
    times = {label: {"infer": [], "train": []} for label, *_ in setups}
    for _ in range(rounds):
        for label, net, infer, train in setups:
            times[label]["infer"].append(_harness.time_call(infer, min_time=min_time).median)
            times[label]["train"].append(
                _harness.time_call(train, min_time=min_time, setup=net.zero_grad).median
            )
    rows = []
    for label, net, infer, _ in setups:
        peak = _harness.peak_memory(infer)
        out = infer()
        held = held_bytes(net) - sum(p.numel() * p.element_size() for p in net.parameters())
        rows.append(
            dict(
                label=label,
                peak=peak,
                held=held,
                out=out,
                infer=statistics.median(times[label]["infer"]),
                train=statistics.median(times[label]["train"]),
            )
        )
    for row in rows[1:]:
        assert torch.allclose(row["out"], rows[0]["out"], rtol=1e-4), row["label"]
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--bond", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (median)")
    parser.add_argument("--quick", action="store_true", help="n=10, bond 4, batch 8, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.bond, args.batch, args.rounds = 10, 4, 8, 1
    rows = measure(args.n, args.bond, args.batch, 0.2 if args.quick else 0.5, args.rounds)
    print(
        f"Ring of {args.n} cores, bond {args.bond}, input dim 3, batch {args.batch}, float32; "
        f"median of {args.rounds} rounds."
    )
    print(
        f"Machine: {_harness._cpu_model()}, {torch.get_num_threads()} thread, torch "
        f"{torch.__version__}, Python {platform.python_version()}.\n"
    )
    base = rows[0]
    print("| set-up | inference | training step | peak memory (inference) | held after forward |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['label']} | {r['infer'] * 1e3:.2f} ms ({base['infer'] / r['infer']:.1f}x) | "
            f"{r['train'] * 1e3:.2f} ms ({base['train'] / r['train']:.1f}x) | "
            f"{r['peak'] / 2**20:.2f} MiB | {r['held'] / 2**20:.2f} MiB |"
        )


if __name__ == "__main__":
    main()
