"""The operation registry: explicit, refuses duplicates, mutates nothing at import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import torchtn as tk
from torchtn.core import registry


def test_builtin_operations_listed_and_resolved():
    ops = tk.TensorNetwork.operations
    for name in ("permute", "contract_edges", "stack", "unbind", "einsum", "mps_sweep"):
        assert name in ops
        assert ops[name].name == name
    assert set(registry.BUILTIN_OPERATIONS) <= set(ops)
    with pytest.raises(KeyError):
        ops["nope"]


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="already exists"):
        tk.Operation("stack", lambda *a: None, lambda *a: None, lambda *a: None)
    op = tk.Operation("my_double_op", _none, _none, _none)
    try:
        with pytest.raises(ValueError, match="my_double_op"):  # another definition
            tk.Operation("my_double_op", _other, _none, _none)
        assert tk.TensorNetwork.operations["my_double_op"] is op
    finally:
        registry.unregister_operation("my_double_op")
    assert "my_double_op" not in tk.TensorNetwork.operations


def test_rerunning_the_same_definition_replaces_it():
    def make():
        def check(*a):
            return None

        def first(*a):
            return None

        def nxt(*a):
            return None

        return tk.Operation("rerun_op", check, first, nxt)

    try:
        first = make()
        second = make()  # a notebook cell executed twice
        assert tk.TensorNetwork.operations["rerun_op"] is second is not first
    finally:
        registry.unregister_operation("rerun_op")


def test_operation_checks_callables():
    with pytest.raises(TypeError, match="fn_first"):
        tk.Operation("bad_op_args", lambda *a: None, 3, lambda *a: None)
    assert "bad_op_args" not in tk.TensorNetwork.operations


def test_user_operation_reserves_its_name_and_runs():
    def check(node):
        succs = node.successors.get("twice")
        return None if succs is None else succs.get((node,))

    def first(node):
        child = tk.Node._create_resultant(
            axes_names=node.axes_names,
            name="twice",
            network=node.network,
            tensor=node.tensor * 2,
            edges=list(node.edges),
            node1_list=node.is_node1(),
        )
        from torchtn.ops._operation import Kernel, record

        record("twice", (node,), node, (node,), child, Kernel(_double))
        return child

    def nxt(succ, node):
        from torchtn.ops._operation import run

        return run(succ)

    op = tk.Operation("twice", check, first, nxt)
    try:
        with pytest.raises(ValueError, match="reserved"):
            tk.Node(shape=(2,), name="twice")
        a = tk.randn((2, 3))
        r = op(a)
        assert op(a) is r
        torch.testing.assert_close(r.tensor, a.tensor * 2)
    finally:
        registry.unregister_operation("twice")


def _none(*args):
    return None


def _other(*args):
    return None


def _double(t):
    return t * 2


def test_common_words_stay_available_as_node_names():
    # TensorKrowch 1.1.6 users may name a node 'sweep'; the MPS end-region step is
    # registered as 'mps_sweep' instead.
    assert tk.Node(shape=(2,), name="sweep").name == "sweep"
    with pytest.raises(ValueError, match="reserved"):
        tk.Node(shape=(2,), name="mps_sweep")


def test_import_mutates_no_registry_and_core_does_not_import_ops():
    code = (
        "import sys, torchtn.core.registry as r\n"
        "assert r._registered == {} and r._resolved == {}\n"
        "import torchtn.core.network\n"
        "import torchtn\n"
        "assert r._registered == {} and r._resolved == {}, (r._registered, r._resolved)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
