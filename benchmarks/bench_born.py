"""``tk.models.BornMachine``: exact sampling throughput and batched ``log_prob``.

For each (n_sites, bond, n_samples) an open MPS of binary sites with deterministic
near-identity cores (``I / sqrt(2)`` on both physical slices plus noise, so the
distribution is far from uniform but nothing degenerates) is wrapped in a
``BornMachine``. Measured:

* ``sample``: ``born.sample(n_samples, generator=...)``, reported in samples per second;
* ``log_prob``: ``born.log_prob(x)`` on ``n_samples`` configurations (with ``log Z``),
  under ``torch.no_grad()``, reported in configurations per second.

The hand-written reference is the textbook pure-PyTorch sampler: right environments
``R_i = sum_s A_i[s] R_{i+1} A_i[s]^T`` (renormalised), then site by site
``p(s) ~ w_s R_{i+1} w_s^T`` with ``w_s = v A_i[s]`` (``O(d D^2)`` per sample and site
for the environment product on top of the ``O(d D^2)`` step), and the same
renormalised sweeps for ``log_prob``. torchtn samples from the right-canonical form,
where ``p(s) = |w_s|^2`` needs no environment. TensorKrowch has no Born machine, so
only the two are compared; a float64 case checks ``log_prob`` and its gradient against
the reference.

Usage::

    python benchmarks/bench_born.py            # n in {64, 784} x D in {10, 50}, 1000 samples
    python benchmarks/bench_born.py --quick    # (16, 4, 100)
"""

from __future__ import annotations

import sys
from typing import Any

import _harness as h
import torch

FULL_CONFIGS = [(64, 10, 1000), (64, 50, 1000), (784, 10, 1000), (784, 50, 1000)]
QUICK_CONFIGS = [(16, 4, 100)]
CHECK = {"n": 7, "D": 3, "N": 6, "dtype": "float64"}
CHECK_TOL = 1e-10
LIBS = ("torch", "torchtn")


def make_cores(n: int, D: int, dtype: torch.dtype, seed: int = 0) -> list[torch.Tensor]:
    """Rank-3 cores ``(1, 2, D), (D, 2, D), ..., (D, 2, 1)`` near ``I / sqrt(2)``."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        left = 1 if i == 0 else D
        right = 1 if i == n - 1 else D
        t = torch.randn(left, 2, right, generator=g, dtype=torch.float64) * 0.3 / D**0.5
        t += torch.eye(left, right, dtype=torch.float64)[:, None, :] / 2**0.5
        out.append(t.to(dtype))
    return out


def configs_x(n: int, N: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 2, (N, n), generator=g)


# -- hand-written reference ---------------------------------------------------------------------
def ref_log_prob(cores: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``log |psi(x)|^2 - log Z`` with per-site renormalisation."""
    N = x.shape[0]
    v = cores[0].new_ones(N, 1)
    acc = cores[0].new_zeros(N)
    for i, a in enumerate(cores):
        v = torch.einsum("na,anb->nb", v, a[:, x[:, i], :])  # a matmul per sample
        norm = v.norm(dim=1, keepdim=True)
        v = v / norm
        acc = acc + norm.squeeze(1).log()
    log_psi2 = 2 * (acc + v[:, 0].abs().log())
    env = cores[0].new_ones(1, 1)
    log_z = cores[0].new_zeros(())
    for a in cores:
        lb, d, r = a.shape
        t = (env @ a.reshape(lb, d * r)).reshape(lb * d, r)  # sum_c env[a', c] A[c, s, r]
        env = a.reshape(lb * d, r).mT @ t
        norm = env.norm()
        env = env / norm
        log_z = log_z + norm.log()
    return log_psi2 - (log_z + env[0, 0].log())


def ref_sample(cores: list[torch.Tensor], N: int, gen: torch.Generator) -> torch.Tensor:
    n = len(cores)
    envs: list[torch.Tensor] = [cores[0].new_ones(1, 1)] * (n + 1)
    for i in range(n - 1, -1, -1):
        a = cores[i]
        r = torch.einsum("asb,bc,dsc->ad", a, envs[i + 1], a)
        envs[i] = r / r.norm()
    v = cores[0].new_ones(N, 1)
    out = torch.empty(N, n, dtype=torch.long)
    for i, a in enumerate(cores):
        w = torch.einsum("na,asb->nsb", v, a)
        p = torch.einsum("nsb,bc,nsc->ns", w, envs[i + 1], w).clamp_min(0)
        u = torch.rand(N, generator=gen, dtype=p.dtype) * p.sum(1)
        s = (p.cumsum(1) <= u[:, None]).sum(1).clamp_max(1)
        out[:, i] = s
        v = w[torch.arange(N), s]
        v = v / v.norm(dim=1, keepdim=True)
    return out


# -- worker -------------------------------------------------------------------------------------
def _user_tensors(cores: list[torch.Tensor]) -> list[torch.Tensor]:
    return [cores[0][0]] + [c.clone() for c in cores[1:-1]] + [cores[-1][..., 0]]


def measure(lib: str, tk: Any, case: dict[str, Any]) -> dict[str, Any]:
    dtype = getattr(torch, case.get("dtype", "float32"))
    n, D, N = case["n"], case["D"], case["N"]
    cores = make_cores(n, D, dtype)
    x = configs_x(n, N)
    if lib == "torch":
        leaves = [c.clone().requires_grad_(True) for c in cores]

        def log_prob(xs: torch.Tensor) -> torch.Tensor:
            return ref_log_prob(leaves, xs)

        def sample(gen: torch.Generator) -> torch.Tensor:
            return ref_sample(cores, N, gen)

        middle = leaves[1:-1]
    elif lib == "torchtn":
        mps = tk.models.MPS(tensors=_user_tensors(cores))
        born = tk.models.BornMachine(mps)

        def log_prob(xs: torch.Tensor) -> torch.Tensor:
            return born.log_prob(xs)

        def sample(gen: torch.Generator) -> torch.Tensor:
            return born.sample(N, generator=gen)

        middle = [node.tensor for node in mps.mats_env[1:-1]]
    else:
        raise NotImplementedError(f"{lib} has no Born machine")
    if case.get("check"):
        out = log_prob(x)
        grads = torch.autograd.grad(out.sum(), middle)
        return {
            "out": out.detach().tolist(),
            "grad": torch.cat([g.reshape(-1) for g in grads]).tolist(),
        }
    gen = torch.Generator().manual_seed(0)
    min_time = case.get("min_time", 1.0)
    t_sample = h.time_call(lambda: sample(gen), min_time=min_time)
    with torch.no_grad():
        t_lp = h.time_call(lambda: log_prob(x), min_time=min_time)
        first = log_prob(x[:8]).tolist()
    return {"sample": t_sample, "log_prob": t_lp, "first": first}


def report(configs: list[tuple], metas: dict, results: dict) -> str:
    get = {lib: results.get(lib, [None] * (len(configs) + 1)) for lib in LIBS}
    lines = h.check_lines(
        get["torch"][0], {"torchtn": get["torchtn"][0]}, ("out", "grad"), CHECK_TOL
    )
    out = [
        h.machine_header("BornMachine: sampling and log_prob throughput", metas),
        "",
        f"Validation (float64, n={CHECK['n']} D={CHECK['D']}, log_prob and its gradient, "
        f"tol {CHECK_TOL:g}):",
        *lines,
        "",
    ]
    rows = []
    labels = []
    for k, (n, D, N) in enumerate(configs, start=1):
        hand, tn = get["torch"][k], get["torchtn"][k]
        labels.append(f"{n},{D},{N}")
        rate = {
            key: {
                lib: (N / h.value(r, key) if h.value(r, key) else None)
                for lib, r in (("hand", hand), ("tn", tn))
            }
            for key in ("sample", "log_prob")
        }
        err = h.rel_err((tn or {}).get("first"), (hand or {}).get("first"))
        rows.append(
            [
                f"{n}, {D}, {N}",
                _rate(rate["sample"]["hand"]) or h.status(hand),
                _rate(rate["sample"]["tn"]) or h.status(tn),
                h.fmt_ratio(h.ratio(h.value(hand, "sample"), h.value(tn, "sample"))),
                _rate(rate["log_prob"]["hand"]) or h.status(hand),
                _rate(rate["log_prob"]["tn"]) or h.status(tn),
                h.fmt_ratio(h.ratio(h.value(hand, "log_prob"), h.value(tn, "log_prob"))),
                "n/a" if err is None else f"{err:.0e}",
            ]
        )
    headers = [
        "n, D, N",
        "hand samples/s",
        "tn samples/s",
        "hand/tn time",
        "hand log_prob/s",
        "tn log_prob/s",
        "hand/tn time",
        "log_prob err",
    ]
    out.append(h.markdown_table(headers, rows))
    return h.with_footnotes(out, {lib: get[lib][1:] for lib in LIBS}, labels)


def _rate(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = h.config_parser(
        __doc__,
        default_timeout=900.0,
        metavar=("N_SITES", "BOND", "N_SAMPLES"),
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
        keys=("n", "D", "N"),
        libs=LIBS,
    )


if __name__ == "__main__":
    sys.exit(main())
