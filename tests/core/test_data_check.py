"""``torchtn.core._data_check``: data must fit the data nodes exactly (no cropping)."""

from __future__ import annotations

import pytest
import torch

import torchtn as tk
from torchtn.core._data_check import check_data, check_forward_data
from torchtn.errors import TNTypeError, TNValueError


def _chain(sizes=(3, 3, 3), n_batches=1):
    net = tk.TensorNetwork(name="chain")
    nodes = [
        tk.randn(shape=(2, s, 2), axes_names=("left", "input", "right"), network=net) for s in sizes
    ]
    for a, b in zip(nodes[:-1], nodes[1:], strict=True):
        a["right"] ^ b["left"]
    net.set_data_nodes([n["input"] for n in nodes], n_batches)
    return net


@pytest.mark.parametrize("n_batches", [0, 1, 2])
def test_exact_data_passes_for_any_number_of_batch_axes(n_batches):
    net = _chain(n_batches=n_batches)
    batch = (4, 5)[:n_batches]
    check_data(net, torch.rand(*batch, 3, 3))
    check_data(net, [torch.rand(*batch, 3)] * 3)
    net.add_data(torch.rand(*batch, 3, 3))
    assert net["data_1"].shape == (*batch, 3)


@pytest.mark.parametrize(
    ("n_batches", "shape", "match"),
    [
        (2, (4, 3, 3), r"rank 4 \(2 batch axes, n_features, feature\)"),
        (0, (1, 3, 3), r"rank 2 \(0 batch axes, n_features, feature\)"),
        (1, (4, 2, 3), r"2 features .* 3 data nodes"),
        (1, (4, 3, 5), r"size 5 at axis -1 \('feature'\), but data node 'data_0' expects 3"),
    ],
)
def test_tensor_data_mismatch(n_batches, shape, match):
    net = _chain(n_batches=n_batches)
    with pytest.raises(TNValueError, match=match):
        check_data(net, torch.rand(*shape))


def test_expected_size_comes_from_the_model_side():
    # Data nodes take the shape of whatever they last received; the model edge decides.
    net = _chain(sizes=(3, 4))
    net.add_data([torch.rand(2, 3), torch.rand(2, 4)])
    with pytest.raises(TNValueError, match=r"expects 4 \(the size of node_1\['input'\]\)"):
        net.add_data([torch.rand(2, 3), torch.rand(2, 5)])
    assert net["data_1"].shape == (2, 4)


def test_types_and_no_data_nodes():
    net = _chain()
    with pytest.raises(TNTypeError, match="got dict"):
        check_data(net, {"x": 1})
    with pytest.raises(TNTypeError, match=r"`data\[1\]` should be a torch.Tensor, got float"):
        check_data(net, [torch.rand(2, 3), 1.0, torch.rand(2, 3)])
    empty = tk.TensorNetwork()
    check_data(empty, object())  # nothing to check against: add_data reports it
    with pytest.raises(TNValueError, match="has no data nodes"):
        empty.add_data(torch.rand(2, 3, 3))


def test_forward_without_data_before_any_data():
    net = _chain()
    with pytest.raises(TNValueError, match="'data_0' holds no tensor"):
        check_forward_data(net, None)
    check_forward_data(net, torch.rand(2, 3, 3))  # with data: add_data checks it
    net.add_data(torch.rand(2, 3, 3))
    check_forward_data(net, None)
