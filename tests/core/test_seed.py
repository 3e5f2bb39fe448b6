"""The "How to save Memory and Time with TensorKrowch" tutorial, parts without operations.

(The auto_stack / auto_unbind examples and ``node1 @ node2`` need the operations and are
tested with them.)
"""

import torch

import torchtn as tk


def test_memory_address_of_a_new_node():
    node1 = tk.Node(shape=(2, 5, 2), axes_names=("left", "input", "right"), name="my_node")
    assert node1.tensor_address() == "my_node"
    # The slot exists even though the node is empty.
    assert node1.network._memory_nodes == {"my_node": None}

    new_tensor = torch.randn(2, 5, 2)
    node1.tensor = new_tensor  # Same as node1.set_tensor(new_tensor)
    assert node1.network._memory_nodes["my_node"] is new_tensor
    assert torch.equal(node1.tensor, new_tensor)


def test_nodes_sharing_memory():
    node1 = tk.Node(
        shape=(2, 5, 2), axes_names=("left", "input", "right"), name="my_node", init_method="randn"
    )
    node2 = tk.Node(
        shape=(2, 5, 2),
        axes_names=("left", "input", "right"),
        name="your_node",
        network=node1.network,
    )
    node2.set_tensor_from(node1)
    assert node2.tensor_address() == "my_node"

    node1.tensor = torch.zeros_like(node1.tensor)
    assert torch.equal(node2.tensor, torch.zeros(2, 5, 2))

    node3 = tk.Node(
        shape=(2, 5, 2),
        axes_names=("left", "input", "right"),
        name="other_node",
        network=node1.network,
    )
    node3.set_tensor_from(node1)
    assert node3.tensor_address() == "my_node"
    assert list(node1.network._memory_nodes) == ["my_node"]
    node1.tensor = torch.ones(2, 5, 2)
    assert node2.tensor is node1.tensor and node3.tensor is node1.tensor


def test_uniform_mps_of_100_nodes():
    mps = tk.TensorNetwork(name="mps")
    nodes = []
    uniform_node = tk.randn(
        shape=(2, 5, 2), axes_names=("left", "input", "right"), name="uniform", network=mps
    )
    for i in range(100):
        node = tk.randn(
            shape=(2, 5, 2), axes_names=("left", "input", "right"), name=f"node_({i})", network=mps
        )
        node.set_tensor_from(uniform_node)
        nodes.append(node)

    for i in range(100):
        mps[f"node_({i})"]["right"] ^ mps[f"node_({(i + 1) % 100})"]["left"]

    # Check that all nodes share tensor with uniform_node
    for node in nodes:
        assert node.tensor_address() == "uniform"
        assert node.tensor is uniform_node.tensor
    assert list(mps._memory_nodes) == ["uniform"]
    assert mps.nodes_names == ["uniform"] + [f"node_({i})" for i in range(100)]
    assert mps.edges == [uniform_node[ax] for ax in ("left", "input", "right")] + [
        n["input"] for n in nodes
    ]
    assert all(n.neighbours() == [nodes[i - 1], nodes[(i + 1) % 100]] for i, n in enumerate(nodes))


def test_uniform_mps_of_param_nodes_shares_one_parameter():
    mps = tk.TensorNetwork(name="mps")
    uniform_node = tk.randn(
        shape=(2, 5, 2),
        axes_names=("left", "input", "right"),
        name="virtual_uniform",
        network=mps,
        param_node=True,
        virtual=True,
    )
    nodes = []
    for i in range(100):
        node = tk.randn(
            shape=(2, 5, 2),
            axes_names=("left", "input", "right"),
            name=f"node_({i})",
            network=mps,
            param_node=True,
        )
        node.set_tensor_from(uniform_node)
        nodes.append(node)
    for i in range(100):
        mps[f"node_({i})"]["right"] ^ mps[f"node_({(i + 1) % 100})"]["left"]
    assert list(mps.state_dict()) == ["param_virtual_uniform"]
    assert list(mps.parameters()) == [uniform_node.tensor]
    mps.reset()  # references to a virtual_uniform owner survive reset
    assert all(n.tensor_address() == "virtual_uniform" for n in nodes)
