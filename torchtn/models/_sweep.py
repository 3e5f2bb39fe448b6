"""The end-region sweep of an open MPS as one node operation.

``sweep(vector, cores, datas, side)`` contracts a boundary vector with a run of cores
that touches that end of the chain and with the data nodes attached to their ``input``
edges, in one recorded step. The cores and the data are stacked first (with
``auto_stack`` the cores' memory *is* the stack, and data stacks are views of
``stack_data_memory``), so the replayed program is three lines: two references and one
call of :func:`torchtn.planning.chain.sweep`, which picks its
algorithm (on-the-fly, vector or tree) from the shapes of each call.

The result is a resultant node named ``sweep`` with the data's batch axes followed by
the bond axis (``right`` for the left end, ``left`` for the right end) that stays
connected to the next node of the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

import torchtn.ops as op
from torchtn.core.kernel import Kernel
from torchtn.core.memory import read
from torchtn.core.node import AbstractNode, Node
from torchtn.errors import TNValueError
from torchtn.ops._operation import builtin, record, run
from torchtn.planning import chain

__all__ = ["sweep", "sweep_op", "SweepKernel"]


class SweepKernel(Kernel):
    """``(vector, stacked cores, stacked data) -> (*batch, bond)``: :func:`chain.sweep`."""

    def __init__(self, side: str, out_size: int | None) -> None:
        super().__init__(chain.sweep_kernel(side, None, out_size), name="mps_sweep")
        self.side, self.out_size = side, out_size

    def __reduce__(self) -> tuple[Any, ...]:
        return (SweepKernel, (self.side, self.out_size))

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.fn(*tensors)


def _check_first(vector, stack_cores, stack_data, side, cores, datas):
    succs = vector.successors.get("mps_sweep")
    return None if succs is None else succs.get((stack_cores, stack_data, side))


def _first(
    vector: AbstractNode,
    stack_cores: AbstractNode,
    stack_data: AbstractNode,
    side: str,
    cores: Sequence[AbstractNode],
    datas: Sequence[AbstractNode],
) -> Node:
    if side not in ("left", "right"):
        raise TNValueError(f"`side` should be 'left' or 'right', got {side!r}")
    bond_node = cores[-1] if side == "left" else cores[0]
    bond_name = "right" if side == "left" else "left"
    bond = bond_node.get_axis_num(bond_name)
    out_size = bond_node.shape[bond]

    kernel = SweepKernel(side, out_size)
    operands = [vector, stack_cores, stack_data]
    tensor = kernel.eager(*(read(n) for n in operands))
    data = datas[0]
    n_batch = data.rank - 1
    child = Node._create_resultant(
        axes_names=[*data.axes_names[:n_batch], bond_name],
        name="mps_sweep",
        network=vector._network,
        tensor=tensor,
        edges=[*data._edges[:n_batch], bond_node._edges[bond]],
        node1_list=[*(ax._node1 for ax in data._axes[:n_batch]), bond_node._axes[bond]._node1],
    )
    record("mps_sweep", (stack_cores, stack_data, side), vector, operands, child, kernel)
    return child


def _next(succ, *args) -> Node:
    return run(succ)


sweep_op = builtin("mps_sweep", _check_first, _first, _next)


def sweep(
    vector: AbstractNode,
    cores: Sequence[AbstractNode],
    datas: Sequence[AbstractNode],
    side: str,
) -> Node:
    """Contract ``vector`` with ``cores`` (and their ``datas``) from one end of a chain.

    Args:
        vector: The boundary vector node (``left_node`` or ``right_node``).
        cores: The run of cores in chain order, each with axes ``(left, input, right)``;
            ``side='left'`` starts at ``cores[0]``, ``'right'`` at ``cores[-1]``.
        datas: The data node attached to each core's ``input`` edge, same order.
        side: ``'left'`` or ``'right'``: the end of the chain the vector closes.

    Returns:
        A ``(*batch, bond)`` resultant named ``sweep`` whose bond axis is the free bond
        of the run's last core (``side='left'``) or first core.
    """
    stack_cores = op.stack(list(cores))
    stack_data = op.stack(list(datas))
    return sweep_op(vector, stack_cores, stack_data, side, cores, datas)
