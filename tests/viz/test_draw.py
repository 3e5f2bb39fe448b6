"""Drawing, graphs and summaries of networks: every model family renders to PNG (Agg) and
its graph (through to_networkx) has the expected nodes, edges and labels."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import torchtn as tk

matplotlib = pytest.importorskip("matplotlib")
nx = pytest.importorskip("networkx")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _counts(graph):
    kinds = [d["kind"] for _, d in graph.nodes(data=True)]
    return kinds.count("node"), kinds.count("dangling"), graph.number_of_edges()


def _render(net, tmp_path, name, **kwargs):
    fig, ax = net.draw(**kwargs)
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=40)
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return fig, ax


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_mps_layer(tmp_path):
    n, bond = 6, 4
    mps = tk.models.MPSLayer(n_features=n, in_dim=2, out_dim=3, bond_dim=bond)
    mps.set_data_nodes()
    g = mps.to_networkx()
    # n cores + 2 boundary vectors + (n - 1) data nodes; open ends: the output leg and
    # one batch axis per data node.
    assert _counts(g) == (2 * n + 1, 1 + (n - 1), (n + 1) + (n - 1) + n)
    assert g.graph["name"] == "mpslayer"
    assert g.nodes["left_node"]["role"] == "parametric"
    assert g.nodes["data_0"]["role"] == "data"
    assert g.nodes["mats_env_node_(0)"]["shape"] == (bond, 2, bond)
    assert g.nodes["mats_env_node_(0)"]["params"] == bond * 2 * bond
    bonds = [
        d for u, v, d in g.edges(data=True) if {u, v} == {"mats_env_node_(0)", "mats_env_node_(1)"}
    ]
    assert len(bonds) == 1 and bonds[0]["size"] == bond
    assert set(bonds[0]["ends"]) == {("mats_env_node_(0)", "right"), ("mats_env_node_(1)", "left")}
    batch_ends = [d for n_, d in g.nodes(data=True) if d["kind"] == "dangling" and d["batch"]]
    assert len(batch_ends) == n - 1 and all(d["label"] == "batch" for d in batch_ends)
    fig, ax = _render(mps, tmp_path, "mps")
    texts = _texts(ax)
    assert "mats_env_node_(0)" in texts and "data_0" in texts
    assert texts.count(str(bond)) >= n + 1  # bond dimensions on the edges
    assert "right" in texts and "input" in texts  # axis names
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"parametric", "data"}
    # The model's own layout: the cores on a line.
    pos = mps._draw_positions()
    assert {pos[f"mats_env_node_({i})"][1] for i in range(n)} == {0.0}


def test_peps(tmp_path):
    r, c = 3, 4
    peps = tk.models.PEPS(r, c, 2, [2, 3])
    peps.set_data_nodes()
    g = peps.to_networkx()
    horizontal, vertical = r * (c - 1), (r - 1) * c
    assert _counts(g) == (2 * r * c, r * c, horizontal + vertical + r * c + r * c)
    sizes = sorted(
        d["size"]
        for u, v, d in g.edges(data=True)
        if g.nodes[u]["role"] == g.nodes[v]["role"] == "parametric"
    )
    assert sizes.count(2) == horizontal and sizes.count(3) == vertical
    _render(peps, tmp_path, "peps")
    pos = peps._draw_positions()
    assert pos["left_up_corner_node"] == (0.0, 0.0)
    assert pos["right_down_corner_node"] == (c - 1.0, -(r - 1.0))


def test_tree(tmp_path):
    tree = tk.models.Tree([4, 2, 1], [[2, 2, 3], [3, 3, 3], [3, 3, 5]])
    tree.set_data_nodes()
    g = tree.to_networkx()
    assert _counts(g) == (7 + 8, 1 + 8, 6 + 8 + 9)
    root_stub = g.nodes[("dangling", "tree_node_(2,0)", "output")]
    assert root_stub["label"] == "output" and not root_stub["batch"]
    fig, ax = _render(tree, tmp_path, "tree")
    pos = tree._draw_positions()
    assert pos["tree_node_(2,0)"][1] > pos["tree_node_(1,0)"][1] > pos["tree_node_(0,0)"][1]
    assert pos["tree_node_(2,0)"][0] == pytest.approx(
        (pos["tree_node_(1,0)"][0] + pos["tree_node_(1,1)"][0]) / 2
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: tk.models.MPS(n_features=4, phys_dim=2, bond_dim=3, boundary="pbc"),
        lambda: tk.models.UMPS(n_features=4, phys_dim=2, bond_dim=3),
        lambda: tk.models.MPO(n_features=3, in_dim=2, out_dim=2, bond_dim=2),
        lambda: tk.models.UPEPS(2, 3, 2, [2, 2]),
        lambda: tk.models.ConvTree(
            [4, 2, 1], [[2, 2, 3], [3, 3, 3], [3, 3, 5]], kernel_size=(2, 4)
        ),
        lambda: tk.models.UMPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=3),
        lambda: tk.models.UTree([4, 2, 1], [2, 2, 2]),
        lambda: tk.models.MPSData(n_features=4, phys_dim=2, bond_dim=3),
        lambda: tk.models.UMPO(n_features=3, in_dim=2, out_dim=2, bond_dim=2),
    ],
    ids=["mps-pbc", "umps", "mpo", "upeps", "convtree", "umpslayer", "utree", "mpsdata", "umpo"],
)
def test_other_families_render(make, tmp_path):
    net = make()
    g = net.to_networkx()
    nodes, stubs, edges = _counts(g)
    assert nodes == len(net.leaf_nodes) + len(net.data_nodes)
    assert stubs == len(net.edges) + sum(
        ax.is_batch() for n in net.data_nodes.values() for ax in n.axes
    )
    _render(net, tmp_path, type(net).__name__)


def test_generic_network_roles_self_loop_and_multi_edges(tmp_path):
    net = tk.TensorNetwork("custom")
    a = tk.randn((2, 3, 3, 2), axes_names=("l", "x", "y", "r"), network=net, name="a")
    b = tk.randn((2, 2, 4), axes_names=("l", "r", "o"), network=net, name="b", param_node=True)
    a["x"] ^ a["y"]  # self-loop
    a["r"] ^ b["l"]
    a["l"] ^ b["r"]  # two edges between a and b
    result = a @ b
    g = net.to_networkx()
    assert _counts(g) == (2, 1, 4)
    assert g.number_of_edges("a", "b") == 2 and g.number_of_edges("a", "a") == 1
    assert g.nodes["a"]["role"] == "leaf" and g.nodes["b"]["role"] == "parametric"
    full = net.to_networkx(resultant=True)
    assert full.nodes[result.name]["role"] == "resultant"
    fig, ax = _render(net, tmp_path, "custom", resultant=True)
    assert "resultant" in {t.get_text() for t in ax.get_legend().get_texts()}
    for layout in ("spring", "circular", "kamada_kawai", {"a": (0.0, 0.0), "b": (3.0, 0.0)}):
        net.draw(layout=layout)
    with pytest.raises(ValueError, match="unknown layout"):
        net.draw(layout="radial")
    with pytest.raises(TypeError, match="layout"):
        net.draw(layout=3)


def test_draw_on_given_axes():
    mps = tk.models.MPS(n_features=3, phys_dim=2, bond_dim=2)
    fig, ax = plt.subplots()
    fig2, ax2 = mps.draw(ax=ax, show_bond_dims=False, show_axis_names=False, legend=False)
    assert ax2 is ax and fig2 is fig
    assert ax.get_legend() is None
    assert "2" not in _texts(ax)


def test_summary():
    mps = tk.models.MPSLayer(n_features=4, in_dim=2, out_dim=3, bond_dim=5)
    x = torch.rand(6, 3, 2)
    mps(x)
    s = mps.summary()
    text = str(s)
    assert repr(s) == text
    n_params = sum(p.numel() for p in mps.parameters())
    assert s.data["total_params"] == n_params
    assert f"Total params:         {n_params:,}" in text
    assert s.data["n_steps"] == len(mps._seq_ops) > 0
    assert f"Recorded operations:  {len(mps._seq_ops)}" in text
    lines = text.splitlines()
    assert lines[1] == "MPSLayer 'mpslayer'"
    row = next(line for line in lines if line.startswith("mats_env_node_(0)"))
    assert row.split()[1:4] == ["parametric", "ParamNode", "(5,"]
    assert len([ln for ln in lines if ln.startswith("data_")]) == 3
    assert s.data["memory_bytes"] >= n_params * 4
    with_res = mps.summary(resultant=True)
    assert any(r[1] == "resultant" for r in with_res.rows)


def test_import_torchtn_does_not_import_plotting():
    code = (
        "import sys, torchtn as tk\n"
        "net = tk.models.MPS(n_features=3, phys_dim=2, bond_dim=2)\n"
        "print(net.summary() is not None)\n"
        "bad = [m for m in ('matplotlib', 'networkx', 'cotengra') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_contraction_plan_method_and_drawing(tmp_path):
    mps = tk.models.MPSLayer(n_features=5, in_dim=2, out_dim=3, bond_dim=4)
    mps.set_data_nodes()
    mps.add_data(torch.rand(7, 4, 2))
    plan = mps.contraction_plan()
    assert plan == tk.contraction_plan(mps)
    assert plan.names[0] == "mats_env_node_(0)"
    fig, ax = plan.draw()
    fig.savefig(tmp_path / "plan.png", dpi=40)
    leaves = [t.get_text() for t in ax.texts]
    assert sorted(leaves) == sorted(plan.names)


def test_gallery_script(tmp_path, capsys):
    from torchtn.examples import draw_gallery

    written = draw_gallery.main(["--out", str(tmp_path), "--dpi", "30"])
    assert sorted(p.name for p in written) == [
        "contraction_plan.png",
        "mps_layer.png",
        "peps.png",
        "tree.png",
    ]
    assert all(p.stat().st_size > 1000 for p in written)
    assert "ContractionPlan" in capsys.readouterr().out
