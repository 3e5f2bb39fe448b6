"""Runs every benchmark script in turn and prints their tables.

Runs every ``bench_*.py`` beside this file (the harness-based ones first, in a fixed
order, then any other in name order). ``--quick`` is passed to every script (one
without a ``--quick`` option is skipped in quick mode); the harness options
(``--no-tk``, ``--tk-python``, ``--libs``, ``--timeout``) only to scripts built on
``_harness.add_common_args``. Each script runs in its own process; a script that
fails is reported and the others still run. Exit status: 0 if every script succeeded.

Usage::

    python benchmarks/run_all.py            # full sizes (tens of minutes on 2 cores)
    python benchmarks/run_all.py --quick    # smoke test, about a minute
    python benchmarks/run_all.py --only ops,mps_ring
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("construction", "ops", "mps_ring", "mpslayer", "peps")


def discover() -> list[str]:
    """Names ``X`` of the ``bench_X.py`` scripts, in running order."""
    found = sorted(p.stem[len("bench_") :] for p in HERE.glob("bench_*.py"))
    return [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--no-tk", action="store_true", help="skip the TensorKrowch column")
    parser.add_argument("--tk-python", default=None, help="python of the TensorKrowch env")
    parser.add_argument("--libs", default=None, help="workers to run (torch,torchtn,...)")
    parser.add_argument("--timeout", default=None, help="per-case time limit in seconds")
    scripts = discover()
    parser.add_argument(
        "--only",
        default=",".join(scripts),
        help=f"comma-separated subset of {','.join(scripts)}",
    )
    args = parser.parse_args(argv)
    common = ["--quick"] if args.quick else []
    harness = ["--no-tk"] if args.no_tk else []
    for flag in ("tk_python", "libs", "timeout"):
        if getattr(args, flag) is not None:
            harness += ["--" + flag.replace("_", "-"), str(getattr(args, flag))]
    selected = [s for s in args.only.split(",") if s]
    unknown = sorted(set(selected) - set(scripts))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; expected some of {scripts}")
    failed = []
    for name in selected:
        script = HERE / f"bench_{name}.py"
        source = script.read_text()
        if args.quick and "--quick" not in source:
            print(f"\n({script.name}: skipped, it has no --quick option)", flush=True)
            continue
        flags = common + (harness if "add_common_args" in source else [])
        print(f"\n<!-- {script.name} {' '.join(flags)} -->\n", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script), *flags])
        print(f"\n({script.name}: {time.perf_counter() - t0:.0f} s)", flush=True)
        if proc.returncode != 0:
            failed.append(f"{script.name} (exit {proc.returncode})")
    if failed:
        print("\nfailed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
