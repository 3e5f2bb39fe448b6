"""Tree / UTree against dense einsum references (float64, 2-3 layers)."""

import pytest
import torch
from _tn_dense import dense_contract

from torchtn.models.tree import Tree, UTree

pytestmark = pytest.mark.usefixtures("float64")


def _reference(tree, x):
    nodes = [n for layer in tree.layers for n in layer]
    inputs = [e for n in tree.layers[0] for e in n.edges[:-1]]
    data = [(e, x[:, k]) for k, e in enumerate(inputs)]
    return dense_contract(nodes, data, [tree.layers[-1][0]["output"]])


CASES = [
    ([2, 1], [[3, 2], [2, 2, 4]]),
    ([4, 2, 1], [[3, 3, 2], [2, 2, 2], [2, 2, 5]]),
    ([3, 1], [[2, 2, 3], [3, 3, 3, 2]]),
]


@pytest.mark.parametrize(("sites", "bonds"), CASES)
def test_tree_matches_dense(sites, bonds):
    torch.manual_seed(0)
    tree = Tree(sites, bonds)
    for node in tree.leaf_nodes.values():
        node.tensor = torch.randn(node.shape)
    n_in = sum(len(b) - 1 for b in [bonds[0]] * sites[0])
    x = torch.randn(5, n_in, bonds[0][0])
    out = tree(x)
    assert out.shape == (5, bonds[-1][-1])
    torch.testing.assert_close(out, _reference(tree, x))
    tree.reset()
    torch.testing.assert_close(tree(x, inline=True), out)


def test_tree_default_init_and_names():
    tree = Tree([4, 2, 1], [[3, 3, 2], [2, 2, 2], [2, 2, 5]])
    names = [k for k, _ in tree.named_parameters()]
    assert names == [f"param_tree_node_(0,{j})" for j in range(4)] + [
        "param_tree_node_(1,0)",
        "param_tree_node_(1,1)",
        "param_tree_node_(2,0)",
    ]
    node = tree.layers[0][0]
    assert node.axes_names == ["input_0", "input_1", "output"]
    # The other 17 entries are randn * 1e-9 (the default std): a bound on the draw, not rounding.
    assert node.tensor[0, 0, 0] == 1 and node.tensor.abs().sum() < 1 + 1e-6
    assert tree.layers[1][0]["input_1"].is_dangling() is False
    assert tree.sites_per_layer == [4, 2, 1] and tree.n_batches == 1 and tree.name == "tree"
    single = Tree([1], [[4, 3]])
    assert single.layers[0][0].axes_names == ["input", "output"]


def test_tree_state_dict_trace_and_grad():
    bonds = [[3, 3, 2], [2, 2, 2], [2, 2, 5]]
    tree = Tree([4, 2, 1], bonds)
    for node in tree.leaf_nodes.values():
        node.tensor = torch.randn(node.shape)
    x = torch.randn(6, 8, 3)
    expected = tree(x)
    fresh = Tree([4, 2, 1], bonds)
    fresh.load_state_dict(tree.state_dict())
    torch.testing.assert_close(fresh(x), expected)
    tree.reset()
    tree.trace(x[:1])
    torch.testing.assert_close(tree(x), expected)
    tree(x).sum().backward()
    assert all(p.grad is not None for p in tree.parameters())


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((4, [[2, 2]]), TypeError, "sites_per_layer"),
        (([], []), ValueError, "sites_per_layer"),
        (([2.0, 1], [[2, 2], [2, 2, 2]]), TypeError, "sites_per_layer"),
        (([0, 1], [[2, 2], [2, 2, 2]]), ValueError, "sites_per_layer"),
        (([2, 2], [[2, 2], [2, 2]]), ValueError, "last layer"),
        (([2, 1], [[2, 2]]), ValueError, "same length"),
        (([2, 1], "x"), TypeError, "bond_dim"),
        (([2, 1], [[2, 2], [2]]), ValueError, "at least 2"),
        (([2, 1], [[2, 2], 3]), TypeError, "list or tuple"),
        (([2, 1], [[2, 2], [2, 2, 2, 2]]), ValueError, "input edges"),
        (([4, 1], [[2, 2], [2, 2, 2]]), ValueError, "input edges"),
    ],
)
def test_tree_bad_arguments(args, exc, match):
    with pytest.raises(exc, match=match):
        Tree(*args)


def test_tree_bad_n_batches():
    with pytest.raises(TypeError, match="n_batches"):
        Tree([2, 1], [[2, 2], [2, 2, 2]], n_batches=None)


def test_utree_shares_one_parameter():
    utree = UTree([4, 2, 1], [3, 3, 3])
    assert [k for k, _ in utree.named_parameters()] == ["param_virtual_uniform"]
    nodes = [n for layer in utree.layers for n in layer]
    assert all(n.tensor_address() == "virtual_uniform" for n in nodes)
    assert utree.uniform_memory.tensor[0, 0, 0] == 1
    with pytest.raises(ValueError, match="input edges"):
        UTree([4, 1], [2, 2, 2])
    with pytest.raises(ValueError, match="cannot feed"):
        UTree([2, 1], [2, 2, 3])


def test_utree_matches_dense():
    utree = UTree([2, 1], [3, 3, 3])
    utree.uniform_memory.tensor = torch.randn(3, 3, 3)
    for layer in utree.layers:
        for node in layer:
            node.set_tensor_from(utree.uniform_memory)
    x = torch.randn(4, 4, 3)
    out = utree(x)
    torch.testing.assert_close(out, _reference(utree, x))
    fresh = UTree([2, 1], [3, 3, 3])
    fresh.load_state_dict(utree.state_dict())
    torch.testing.assert_close(fresh(x), out)
    with pytest.raises(NotImplementedError):
        utree.canonicalize()


@pytest.mark.parametrize("mode", ["svd", "svdr", "qr"])
def test_tree_canonicalize_keeps_function(mode):
    torch.manual_seed(0)
    tree = Tree([4, 2, 1], [[3, 3, 4], [4, 4, 4], [4, 4, 2]])
    tree.initialize(std=0.5)
    x = torch.randn(6, 8, 3)
    expected = tree(x)
    tree.canonicalize(mode=mode)
    torch.testing.assert_close(tree(x), expected)
    # full rank of each merged child-parent matrix (the same bonds as TK 1.1.6)
    assert tree.bond_dim == [[[3, 3, 9]] * 4, [[9, 9, 8], [9, 9, 16]], [[8, 16, 2]]]
    for node in tree.layers[0]:
        m = node.tensor.reshape(-1, node.shape[-1])
        torch.testing.assert_close(m.T @ m, torch.eye(m.shape[1]))
    tree.reset()
    assert [k for k, _ in tree.named_parameters()][0] == "param_tree_node_(0,0)"


def test_tree_canonicalize_truncates():
    torch.manual_seed(0)
    tree = Tree([4, 2, 1], [[3, 3, 4], [4, 4, 4], [4, 4, 2]])
    tree.initialize(std=0.5)
    tree.canonicalize(rank=2)
    assert tree.bond_dim[0] == [[3, 3, 2]] * 4
    assert tree.bond_dim[1] == [[2, 2, 2]] * 2
    assert tree(torch.randn(3, 8, 3)).shape == (3, 2)
    with pytest.raises(ValueError, match="mode"):
        tree.canonicalize(mode="lu")
