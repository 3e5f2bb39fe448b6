"""Run every example at its default settings and draw the gallery's images.

For each module in ``torchtn/examples`` (except ``_common``) this runs
``python -m torchtn.examples.NAME --quiet --out TMP``, keeps its printed output, and
draws ``docs/images/example_NAME.png``: the learning curves (parsed from the
``epoch``/``retrain`` lines every training example prints) or, for ``tt_rss_lowrank``,
the recovered bond dimensions, or the figure the example saves itself
(``born_digits``, ``dmrg_digits``). The outputs are printed at the end, to update the text of
``docs/examples.md``. About a minute on a 2-core CPU:

    .venv/bin/python docs/_scripts/gallery.py [NAME ...]
"""

from __future__ import annotations

import json
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
EPOCH = re.compile(
    r"^(?P<phase>epoch|retrain)\s+(?P<n>\d+)\s+loss (?P<loss>[\d.]+)\s+"
    r"train acc (?P<train>[\d.]+)\s+test acc (?P<test>[\d.]+)"
)


def examples() -> list[str]:
    import torchtn.examples as pkg

    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def run(name: str, out: Path) -> tuple[str, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", f"torchtn.examples.{name}", "--quiet", "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return proc.stdout, time.perf_counter() - start


def curves(name: str, stdout: str) -> bool:
    rows = [m.groupdict() for line in stdout.splitlines() if (m := EPOCH.match(line.strip()))]
    if not rows:
        return False
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.5, 2.6))
    for phase, style in (("epoch", "-"), ("retrain", "--")):
        part = [r for r in rows if r["phase"] == phase]
        if not part:
            continue
        offset = 0 if phase == "epoch" else sum(r["phase"] == "epoch" for r in rows)
        xs = [offset + int(r["n"]) for r in part]
        label = "" if phase == "epoch" else " (retrain)"
        ax1.plot(xs, [float(r["loss"]) for r in part], style, marker=".", color="C0")
        ax2.plot(
            xs,
            [float(r["train"]) for r in part],
            style,
            marker=".",
            color="C0",
            label="train" + label,
        )
        ax2.plot(
            xs,
            [float(r["test"]) for r in part],
            style,
            marker=".",
            color="C1",
            label="test" + label,
        )
    from matplotlib.ticker import MaxNLocator

    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set(xlabel="epoch", ylabel="training loss", yscale="log")
    ax2.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
    ax2.legend(fontsize=7, loc="lower right")
    fig.suptitle(name, fontsize=9)
    fig.tight_layout()
    fig.savefig(IMAGES / f"example_{name}.png", dpi=80)
    plt.close(fig)
    return True


def bonds(name: str, out: Path) -> bool:
    results = json.loads((out / "results.json").read_text())
    if "bond_dim" not in results:
        return False
    dims = results["bond_dim"]
    fig, ax = plt.subplots(figsize=(7.5, 2.2))
    ax.bar(range(1, len(dims) + 1), dims, color="C0", label="recovered by tt_rss")
    true_rank = results.get("args", {}).get("true_rank")
    if true_rank is not None:
        ax.axhline(true_rank, color="C1", ls="--", label=f"true rank {true_rank}")
    ax.set(
        xlabel="bond (between sites k and k+1)", ylabel="bond dimension", ylim=(0, max(dims) + 1.5)
    )
    ax.legend(fontsize=7)
    fig.suptitle(
        f"{name}: held-out relative error {results.get('rel_error_heldout', float('nan')):.1e}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(IMAGES / f"example_{name}.png", dpi=80)
    plt.close(fig)
    return True


# Examples that draw their own figure: the one the gallery shows.
SAVED_FIGURES = {"born_digits": "samples.png", "dmrg_digits": "bond_profiles.png"}


def saved(name: str, out: Path) -> bool:
    figure = SAVED_FIGURES.get(name)
    if figure is None or not (out / figure).is_file():
        return False
    shutil.copyfile(out / figure, IMAGES / f"example_{name}.png")
    return True


def main(argv: list[str]) -> None:
    IMAGES.mkdir(exist_ok=True)
    names = argv or examples()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp) / name
            stdout, seconds = run(name, out)
            drawn = saved(name, out) or curves(name, stdout) or bonds(name, out)
            print(f"=== {name} ({seconds:.1f} s wall{', image' if drawn else ', no image'})")
            print(stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
