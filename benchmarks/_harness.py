"""Shared benchmarking infrastructure: timing, peak memory, tables and library workers.

Every benchmark is written once as a function of a module ``tk`` (``torchtn`` or
``tensorkrowch``, whose APIs are identical) plus a hand-written pure-PyTorch reference.
Each measurement runs in a *worker* subprocess, one per (case, library):

* ``torch`` (the hand-written reference) and ``torchtn`` run with the current
  interpreter (the main venv);
* ``tensorkrowch`` runs with the interpreter of the separate ``.venv-tk`` environment
  (``make tk-env``), because TensorKrowch is never a dependency of torchtn.

Subprocesses give every library a fresh interpreter (no heap or cache left over by
another library), a per-case time limit (TensorKrowch can take minutes on big
networks) and crash isolation; libraries take turns case by case, so the columns of a
table row are measured close in time. The driver talks to a worker with JSON: the list
of cases on stdin, one marker line per started/finished case on stdout.

A library that cannot be imported or fails on a case yields ``{"error": ...}`` for
that case; tables then print ``n/a`` and the reason goes in a footnote.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import platform
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "LIBS",
    "NA",
    "REPO_ROOT",
    "Timing",
    "add_common_args",
    "check_lines",
    "dump_json",
    "fmt_bytes",
    "fmt_ratio",
    "fmt_time",
    "footnotes",
    "machine_header",
    "markdown_table",
    "peak_memory",
    "ratio",
    "rel_err",
    "run_cases",
    "setup_torch",
    "status",
    "time_call",
    "timed_once",
    "tk_python",
    "value",
    "worker_main",
]

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Worker names. ``torch`` runs the hand-written reference and needs no library.
LIBS = ("torch", "torchtn", "tensorkrowch")

_START = "@@BENCH_START@@"
_RESULT = "@@BENCH_RESULT@@"
_META = "@@BENCH_META@@"

# ---------------------------------------------------------------------------------------
# Torch setup and timing
# ---------------------------------------------------------------------------------------


def setup_torch(threads: int = 1) -> None:
    """Pins torch to ``threads`` intra-op threads (1 by default) for reproducible timings."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set, or parallel work has started
        pass


class Timing(dict):
    """Result of :func:`time_call` (a dict, so it serialises to JSON directly).

    Keys: ``median`` and ``min`` (seconds per call), ``iqr`` (inter-quartile range of the
    per-call samples, seconds), ``repeats`` (samples), ``number`` (calls per sample).
    """

    @property
    def median(self) -> float:
        return self["median"]


def time_call(
    fn: Callable[[], Any],
    *,
    min_time: float = 0.5,
    warmup: int = 2,
    min_repeats: int = 5,
    max_repeats: int = 1000,
    sample_time: float = 2e-3,
    very_slow: float = 5.0,
    setup: Callable[[], Any] | None = None,
) -> Timing:
    """Times ``fn()``: median of repeated samples after warm-up, with ``time.perf_counter``.

    The number of calls per sample (``number``) is chosen so that one sample lasts at
    least ``sample_time`` (microsecond operations are timed in batches, as ``timeit``
    does); the number of samples so that the whole measurement lasts about ``min_time``,
    clamped to ``[min_repeats, max_repeats]``. Slow functions (one call longer than
    ``min_time / min_repeats``) get a single warm-up call and ``min(min_repeats, 3)``
    samples (2 beyond ``very_slow`` seconds), so a 10 s forward costs 30 s, not minutes.

    Args:
        fn: the callable to time; its result is discarded.
        min_time: target total measuring time in seconds.
        warmup: warm-up calls before measuring (at least one is always made).
        min_repeats: lower bound on the number of samples.
        max_repeats: upper bound on the number of samples.
        sample_time: minimum duration of one sample in seconds.
        very_slow: one call longer than this (seconds) gets only 2 samples.
        setup: called (untimed) before every sample, e.g. to zero gradients.

    Returns:
        A :class:`Timing`.
    """
    gc.collect()
    if setup is not None:
        setup()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    slow = once * min_repeats > min_time
    if slow:
        min_repeats = min(min_repeats, 3 if once < very_slow else 2)
    else:
        for _ in range(max(0, warmup - 1)):
            if setup is not None:
                setup()
            t0 = time.perf_counter()
            fn()
            once = min(once, time.perf_counter() - t0)
    number = 1 if slow else max(1, math.ceil(sample_time / max(once, 1e-9)))
    repeats = int(min(max_repeats, max(min_repeats, min_time / max(once * number, 1e-9))))
    samples = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    if len(samples) >= 4:
        q = statistics.quantiles(samples, n=4)
        iqr = q[2] - q[0]
    else:
        iqr = max(samples) - min(samples)
    return Timing(
        median=statistics.median(samples),
        min=min(samples),
        iqr=iqr,
        repeats=repeats,
        number=number,
    )


def timed_once(fn: Callable[[], Any]) -> float:
    """Seconds taken by one call of ``fn`` (for one-shot costs such as ``trace``)."""
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------
# Peak memory
# ---------------------------------------------------------------------------------------


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes of tensor memory allocated by ``fn()`` above the level when it started.

    Why this method: ``tracemalloc`` sees only Python-object allocations (torch allocates
    tensor storage in C++), and the resident set size (``resource.getrusage``) only ever
    grows and is blurred by the allocator keeping freed pages. Instead this runs ``fn``
    under ``torch.profiler.profile(profile_memory=True)``: the profiler records one
    ``[memory]`` event per allocation (+bytes) and per free (-bytes) made through torch's
    CPU allocator, i.e. exactly the tensor allocations. Sorting the events by time and
    taking the maximum of their running sum gives the peak of live tensor bytes
    allocated inside ``fn`` (tensors that existed before and are freed inside ``fn``
    can make the running sum dip below zero; they do not raise the peak). The profiler
    slows ``fn`` down, so memory is never measured in the same run as time.
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    gc.collect()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
        gc.collect()
    events = [
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]" and e.device_type() == DeviceType.CPU
    ]
    events.sort()
    return max(itertools.accumulate((b for _, b in events), initial=0))


# ---------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------

NA = "n/a"


def fmt_time(seconds: float | None, unit: str | None = None) -> str:
    """Formats seconds with an automatic unit (``µs``, ``ms``, ``s``) or a fixed one."""
    if seconds is None:
        return NA
    if unit is None:
        unit = "µs" if seconds < 1e-3 else "ms" if seconds < 1.0 else "s"
    scale = {"µs": 1e6, "ms": 1e3, "s": 1.0}[unit]
    value = seconds * scale
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {unit}"


def fmt_bytes(nbytes: int | None) -> str:
    """Formats a byte count in MiB (or KiB below 1 MiB)."""
    if nbytes is None:
        return NA
    if abs(nbytes) < 2**20:
        return f"{nbytes / 2**10:.1f} KiB"
    return f"{nbytes / 2**20:.1f} MiB"


def ratio(num: float | None, den: float | None) -> float | None:
    """``num / den``, or None when either is missing or ``den`` is zero."""
    if num is None or den is None or den == 0:
        return None
    return num / den


def fmt_ratio(value: float | None) -> str:
    """Formats a ratio as ``1.23x`` (``n/a`` when missing)."""
    if value is None:
        return NA
    return f"{value:.2f}x" if value < 100 else f"{value:.0f}x"


def rel_err(values: Sequence[float] | None, reference: Sequence[float] | None) -> float | None:
    """Max abs difference divided by the max abs reference value (None if missing)."""
    if values is None or reference is None:
        return None
    if len(values) != len(reference):
        return math.inf
    scale = max((abs(r) for r in reference), default=0.0) or 1.0
    return max((abs(v - r) for v, r in zip(values, reference, strict=True)), default=0.0) / scale


def check_lines(
    reference: dict[str, Any] | None,
    candidates: dict[str, dict[str, Any] | None],
    keys: Sequence[str],
    tol: float,
) -> list[str]:
    """One ``- lib vs hand-written: ... PASS/FAIL`` line per library for a validation case.

    Compares, for every key (e.g. ``out``, ``grad``), the lists of numbers returned by a
    library's worker with the reference worker's, using :func:`rel_err`.
    """
    lines = []
    for lib, res in candidates.items():
        if status(reference):
            why = (reference or {}).get("error", "reference not run")
            lines.append(f"- {lib}: n/a (hand-written reference failed: {_short(str(why))})")
            continue
        if status(res):
            why = status(res) if res and "timeout" in res else (res or {}).get("error", "not run")
            lines.append(f"- {lib}: n/a ({_short(str(why), 200)})")
            continue
        errs = {key: rel_err(res[key], reference[key]) for key in keys}
        verdict = "PASS" if max(errs.values()) <= tol else "FAIL"
        detail = ", ".join(f"{key} rel err {err:.1e}" for key, err in errs.items())
        lines.append(f"- {lib} vs hand-written: {detail} -> {verdict}")
    return lines


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Returns a markdown table; columns after the first are right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(len(row))
        ]
        return "| " + " | ".join(parts) + " |"

    sep = "|" + "|".join(
        "-" * (w + 1) + (":" if i else "-") if i else "-" * (w + 2) for i, w in enumerate(widths)
    )
    sep += "|"
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def _cpu_model() -> str:
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                return row.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_header(title: str, metas: dict[str, dict[str, Any]]) -> str:
    """Header block: benchmark title, machine, torch build and threads, library versions.

    ``metas`` maps a worker name to the metadata that worker reported (see
    :func:`run_cases`); missing libraries are reported as unavailable.
    """
    lines = [
        f"## {title}",
        "",
        f"- machine: {_cpu_model()}, {os.cpu_count()} logical cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- main venv: torch {torch.__version__}; every worker runs with torch.set_num_threads(1)",
    ]
    for lib in ("torchtn", "tensorkrowch"):
        meta = metas.get(lib)
        if meta and "error" not in meta:
            lines.append(
                f"- {lib}: {meta.get('version', '?')} from {meta.get('path', '?')} "
                f"(torch {meta.get('torch')}, threads {meta.get('threads')}, "
                f"python {meta.get('python')})"
            )
        else:
            why = meta.get("error", "not run") if meta else "not run"
            lines.append(f"- {lib}: n/a ({_short(why)})")
    lines.append(
        "- method: warm-up, then median of repeats (time.perf_counter); "
        "inference under torch.no_grad()"
    )
    return "\n".join(lines)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------


def report_head(
    title: str, metas: dict, results: dict, n_configs: int, case: str, tol: float
) -> tuple[dict[str, list], list[str]]:
    """Per-library results (the float64 check first, then one per config) and the first
    lines of a report: the machine header and the float64 check (described by ``case``)
    of each library's ``out`` and ``grad`` against the hand-written worker's."""
    get = {lib: results.get(lib, [None] * (n_configs + 1)) for lib in LIBS}
    lines = check_lines(
        get["torch"][0],
        {lib: get[lib][0] for lib in ("torchtn", "tensorkrowch")},
        ("out", "grad"),
        tol,
    )
    head = [machine_header(title, metas), "", f"Validation (float64, {case}, tol {tol:g}):"]
    return get, [*head, *lines]


def config_parser(
    doc: str,
    *,
    default_timeout: float,
    metavar: tuple[str, ...],
    help_text: str = "run this configuration instead of the default set; repeatable",
) -> argparse.ArgumentParser:
    """A script's parser: its docstring's first paragraph, the common options and a
    repeatable ``--config`` of ``len(metavar)`` integers."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_args(parser, default_timeout=default_timeout)
    parser.add_argument(
        "--config", nargs=len(metavar), type=int, action="append", metavar=metavar, help=help_text
    )
    return parser


def with_footnotes(out: list[str], results: dict, labels: list[str]) -> str:
    """Join a report's lines, adding the footnotes of failed or skipped cases."""
    notes = footnotes(results, labels)
    if notes:
        out = [*out, "", notes]
    return "\n".join(out)


def add_common_args(parser: argparse.ArgumentParser, *, default_timeout: float) -> None:
    """Adds the options every benchmark script shares."""
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke test that runs in seconds"
    )
    parser.add_argument(
        "--no-tk", action="store_true", help="skip the TensorKrowch column (prints n/a)"
    )
    parser.add_argument(
        "--tk-python",
        default=None,
        help="python of the TensorKrowch environment (default: $TORCHTN_TK_PYTHON or "
        ".venv-tk/bin/python at the repository root)",
    )
    parser.add_argument(
        "--libs",
        default=",".join(LIBS),
        help=f"comma-separated workers to run among {','.join(LIBS)} (default: all)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=default_timeout,
        help=f"time limit per case and library in seconds (default: {default_timeout:g})",
    )
    parser.add_argument(
        "--json", default=None, metavar="PATH", help="also write raw results to this JSON file"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)


def tk_python(explicit: str | None = None) -> str | None:
    """Path of the TensorKrowch environment's python, or None if it does not exist."""
    candidate = (
        explicit
        or os.environ.get("TORCHTN_TK_PYTHON")
        or str(REPO_ROOT / ".venv-tk" / "bin" / "python")
    )
    if Path(candidate).is_file() and os.access(candidate, os.X_OK):
        return candidate
    return None


# ---------------------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------------------


def _import_lib(lib: str) -> Any:
    if lib == "torch":
        return None
    if lib == "torchtn":
        # Works without an editable install too (the worker's sys.path[0] is benchmarks/).
        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(1, str(REPO_ROOT))
        import torchtn as module
    elif lib == "tensorkrowch":
        import tensorkrowch as module
    else:
        raise ValueError(f"unknown library {lib!r}; expected one of {LIBS}")
    return module


def _emit(marker: str, payload: Any) -> None:
    sys.stdout.write(f"{marker} {json.dumps(payload)}\n")
    sys.stdout.flush()


def worker_main(lib: str, measure: Callable[[str, Any, dict[str, Any]], dict[str, Any]]) -> None:
    """Entry point of a worker subprocess: reads cases (JSON list) from stdin, runs them.

    ``measure(lib, tk, case)`` gets the worker name, the imported module (None for the
    hand-written ``torch`` worker) and one case dict, and returns a JSON-able dict.
    Exceptions are reported per case as ``{"error": "Type: message"}``.
    """
    setup_torch(1)
    cases = json.loads(sys.stdin.read())
    meta: dict[str, Any] = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
    try:
        tk = _import_lib(lib)
        if tk is not None:
            meta["version"] = getattr(tk, "__version__", "unknown")
            meta["path"] = str(Path(tk.__file__).parent) if tk.__file__ else "?"
    except Exception as exc:  # noqa: BLE001 - any import failure means "n/a"
        meta["error"] = f"{type(exc).__name__}: {exc}"
        _emit(_META, meta)
        for index in range(len(cases)):
            _emit(_RESULT, {"index": index, "result": {"error": meta["error"]}})
        return
    _emit(_META, meta)
    for index, case in enumerate(cases):
        _emit(_START, index)
        try:
            result = measure(lib, tk, case)
        except Exception as exc:  # noqa: BLE001 - reported, the next case still runs
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
            result = {"error": f"{type(exc).__name__}: {exc}{where}"}
        _emit(_RESULT, {"index": index, "result": result})


# ---------------------------------------------------------------------------------------
# Driver side
# ---------------------------------------------------------------------------------------


def _run_worker_process(
    python: str,
    script: Path,
    lib: str,
    cases: list[dict[str, Any]],
    timeout: float,
) -> tuple[dict[str, Any], list[dict[str, Any] | None], int | None, str]:
    """Runs one worker on ``cases``; stops at the first case that exceeds ``timeout``.

    Returns (meta, results, timed_out_index, stderr_tail); results of cases not reached
    are None.
    """
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.setdefault("PYTHONWARNINGS", "ignore")
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(
            [python, str(script), "--worker", lib],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            cwd=str(REPO_ROOT),
            start_new_session=True,  # own process group: a timeout kills the worker only
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                lines.put(raw)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(cases))
        proc.stdin.close()

        meta: dict[str, Any] = {}
        results: list[dict[str, Any] | None] = [None] * len(cases)
        current: int | None = None
        deadline = time.monotonic() + timeout + 60.0  # imports and startup
        timed_out: int | None = None
        while True:
            try:
                raw = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                timed_out = current if current is not None else 0
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
            if raw is None:
                break
            marker, _, payload = raw.strip().partition(" ")
            if marker == _META:
                meta = json.loads(payload)
            elif marker == _START:
                current = json.loads(payload)
                deadline = time.monotonic() + timeout
            elif marker == _RESULT:
                item = json.loads(payload)
                results[item["index"]] = item["result"]
                current = None
                deadline = time.monotonic() + timeout
        proc.wait()
        err.seek(0)
        tail = err.read()[-2000:]
    return meta, results, timed_out, tail


def run_cases(
    script: str | Path,
    cases: list[dict[str, Any]],
    args: argparse.Namespace,
    *,
    libs: Sequence[str] | None = None,
    verbose: bool = True,
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Runs every case in a fresh worker per library, alternating libraries case by case.

    Each (case, library) pair gets its own worker process, and the libraries take turns
    on each case before the next case starts, so that the columns of one table row are
    measured minutes apart at most: on a shared machine, load from other processes then
    affects every column of a row alike. A case that exceeds ``args.timeout`` gets
    ``{"timeout": args.timeout}`` (its worker is killed). A library whose environment is
    missing (TensorKrowch without ``.venv-tk``) or whose import fails gets
    ``{"error": ...}`` for every case.

    Returns:
        ``(metas, results)``: per library, the worker's metadata (versions) and the list
        of per-case result dicts (same order as ``cases``).
    """
    script = Path(script).resolve()
    wanted = [lib for lib in (libs or LIBS) if lib in args.libs.split(",")]
    metas: dict[str, dict[str, Any]] = {}
    results: dict[str, list[dict[str, Any]]] = {lib: [] for lib in wanted}
    pythons: dict[str, str] = {}
    for lib in wanted:
        if lib != "tensorkrowch":
            pythons[lib] = sys.executable
            continue
        python = None if args.no_tk else tk_python(args.tk_python)
        if python is None:
            why = (
                "disabled (--no-tk)"
                if args.no_tk
                else "no TensorKrowch environment (run `make tk-env`)"
            )
            metas[lib] = {"error": why}
            results[lib] = [{"error": why} for _ in cases]
        else:
            pythons[lib] = python
    for k, case in enumerate(cases):
        for lib, python in pythons.items():
            if "error" in metas.get(lib, {}) and metas[lib].get("import_failed"):
                results[lib].append({"error": metas[lib]["error"]})
                continue
            t0 = time.monotonic()
            meta, got, timed_out, tail = _run_worker_process(
                python, script, lib, [case], args.timeout
            )
            if timed_out is not None:
                result: dict[str, Any] = {"timeout": args.timeout}
            elif got[0] is not None:
                result = got[0]
            else:
                result = {"error": f"worker died: {_short(tail) or 'no output'}"}
            if meta:
                if "error" in meta:
                    meta["import_failed"] = True  # no point starting it again
                if lib not in metas or "error" in metas[lib]:
                    metas[lib] = meta
            elif lib not in metas:
                metas[lib] = {"error": result.get("error", "worker gave no metadata")}
            results[lib].append(result)
            if verbose:
                took = time.monotonic() - t0
                state = "timeout" if "timeout" in result else "n/a" if "error" in result else "ok"
                print(f"  case {k + 1}/{len(cases)} {lib}: {state} ({took:.0f} s)", file=sys.stderr)
    return metas, results


def run_config_script(
    script: str | Path,
    args: argparse.Namespace,
    measure: Callable[[str, Any, dict[str, Any]], dict[str, Any]],
    report: Callable[[list[tuple[int, ...]], dict, dict], str],
    *,
    check: dict[str, Any],
    quick: Sequence[tuple[int, ...]],
    full: Sequence[tuple[int, ...]],
    keys: Sequence[str],
    libs: Sequence[str] | None = None,
    min_time: tuple[float, float] = (0.1, 1.0),
    extra: dict[str, Any] | None = None,
) -> int:
    """The ``main`` of a script timed over ``--config`` tuples (after ``config_parser``).

    In a worker process it runs ``measure``; otherwise it builds the float64 ``check``
    case and one case per configuration (the ``--config`` ones, else ``quick`` or
    ``full``; ``keys`` name a tuple's entries, ``extra`` is added to every case and to
    the JSON), runs them with :func:`run_cases`, prints ``report(configs, metas,
    results)`` and writes the JSON asked for with ``--json``. ``min_time`` is the
    timing budget per measurement (quick, full)."""
    if args.worker:
        worker_main(args.worker, measure)
        return 0
    configs = [tuple(c) for c in args.config] if args.config else None
    configs = configs or list(quick if args.quick else full)
    seconds = min_time[0] if args.quick else min_time[1]
    extra = extra or {}
    cases = [dict(check, check=True)] + [
        {**dict(zip(keys, config, strict=True)), "min_time": seconds, **extra} for config in configs
    ]
    metas, results = run_cases(script, cases, args, libs=libs)
    print(report(configs, metas, results))
    dump_json(args, configs=configs, **extra, metas=metas, results=results)
    return 0


def dump_json(args: argparse.Namespace, **payload: Any) -> None:
    """Writes raw results to ``args.json`` when the option was given."""
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=1, default=str))


def value(result: dict[str, Any] | None, key: str) -> float | None:
    """A measured number from a case result, or None if it errored or timed out."""
    if not result or "error" in result or "timeout" in result:
        return None
    got = result.get(key)
    if isinstance(got, dict):
        got = got.get("median")
    return got


def status(result: dict[str, Any] | None) -> str:
    """``n/a``, ``>X s`` (timeout) or the empty string for a usable result."""
    if not result:
        return NA
    if "timeout" in result:
        return f">{result['timeout']:g} s"
    if "error" in result:
        return NA
    return ""


def footnotes(results: dict[str, list[dict[str, Any]]], labels: Sequence[str]) -> str:
    """One line per distinct error, saying which library and cases it hit."""
    notes: dict[tuple[str, str], list[str]] = {}
    for lib, per_case in results.items():
        for label, result in zip(labels, per_case, strict=False):
            if result and "error" in result:
                notes.setdefault((lib, _short(result["error"], 300)), []).append(label)
    out = []
    for (lib, err), where in notes.items():
        cases = "all cases" if len(where) == len(labels) else ", ".join(where)
        out.append(f"- {lib} n/a ({cases}): {err}")
    return "\n".join(out)
