"""The execution half of `TensorNetwork`: data nodes, forward, trace and reset.

``forward`` runs the user's ``contract()`` once; after that it replays the recorded
operations (``_seq_ops``). The replay is delegated to a compiled program installed by
:mod:`torchtn.ops` (``TensorNetwork._compile_program``), which runs the recorded
kernels as one flat function without touching nodes, edges or caches per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union

import torch

from torchtn.errors import TNTypeError, TNValueError

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.edge import Edge
    from torchtn.core.node import AbstractNode

__all__ = ["ExecutionMixin"]


class ExecutionMixin:
    """Data nodes and the contract/replay cycle (mixed into TensorNetwork)."""

    _compile_program = None  # installed by torchtn.ops: fn(network) -> program

    # -- data nodes ----------------------------------------------------------------------------
    def set_data_nodes(self, input_edges: Sequence[Union[Edge, int]], num_batch_edges: int) -> None:
        """Create one data node per input edge, connected to it.

        When every input edge has the same size, the data nodes share one virtual
        memory node, ``stack_data_memory``, of shape ``(n_inputs, 1.., feature)``.

        Args:
            input_edges: Dangling edges (or indices into :attr:`edges`) receiving data.
            num_batch_edges: Number of batch axes of each data node.

        Raises:
            ValueError: No input edges, data nodes already set, a repeated edge, or an
                edge that is not a dangling non-batch edge of this network.
            TypeError: ``input_edges`` or one of its elements of the wrong type.
            IndexError: An int that is not an index of :attr:`edges`.

        A failing call leaves the network unchanged.
        """
        from torchtn.core.edge import Edge
        from torchtn.core.node import Node

        # Everything is validated before the first node is created.
        if not isinstance(num_batch_edges, int) or isinstance(num_batch_edges, bool):
            raise TNTypeError(f"`num_batch_edges` should be int, got {num_batch_edges!r}")
        if num_batch_edges < 0:
            raise TNValueError(f"`num_batch_edges` should be >= 0, got {num_batch_edges}")
        if isinstance(input_edges, (Edge, str)) or not isinstance(input_edges, Sequence):
            raise TNTypeError(
                f"`input_edges` should be a sequence of edges (or int indices "
                f"into net.edges), got {type(input_edges).__name__}"
            )
        if len(input_edges) == 0:
            raise TNValueError("`input_edges` is empty: give at least one edge")
        if self._data_nodes:
            raise TNValueError(
                f"Network {self.name!r} already has data nodes; call unset_data_nodes() first"
            )
        open_edges = self._edges_d
        edges: list = []
        for i, e in enumerate(input_edges):
            if isinstance(e, int) and not isinstance(e, bool):
                e = self[e]
            elif not isinstance(e, Edge):
                raise TNTypeError(
                    f"`input_edges[{i}]` should be an Edge or int, got {type(e).__name__}"
                )
            if e not in open_edges:
                raise TNValueError(
                    f"`input_edges[{i}]` ({e!s}) is not a dangling, non-batch "
                    f"edge of a non-virtual node of network {self.name!r}"
                )
            if any(e is f for f in edges):
                raise TNValueError(f"`input_edges[{i}]` ({e!s}) is given twice")
            edges.append(e)
        sizes = [e.size() for e in edges]
        same = all(s == sizes[0] for s in sizes)
        if same and "stack_data_memory" in self._all_nodes:
            raise TNValueError(
                f"Network {self.name!r} already has a 'stack_data_memory' node; "
                "call unset_data_nodes() first"
            )
        batch_names = ["batch"] * num_batch_edges

        stack_node = None
        if same:
            stack_node = Node(
                shape=(len(edges),) + (1,) * num_batch_edges + (sizes[0],),
                axes_names=["n_features"] + batch_names + ["feature"],
                name="stack_data_memory",
                network=self,
                virtual=True,
            )
        data_nodes = []
        for e, size in zip(edges, sizes, strict=True):
            node = Node(
                shape=(1,) * num_batch_edges + (size,),
                axes_names=batch_names + ["feature"],
                name="data",
                network=self,
                data=True,
            )
            node._edges[-1] ^ e
            data_nodes.append(node)
        if stack_node is not None:
            for i, node in enumerate(data_nodes):
                self._drop_memory_slot(node)
                node._tensor_info = {"address": None, "node_ref": stack_node, "index": i}
        self._notify_memory_change()

    def unset_data_nodes(self) -> None:
        """Delete the data nodes (and ``stack_data_memory``)."""
        if self._data_nodes:
            for node in list(self._data_nodes.values()):
                self.delete_node(node, move_names=False)
            self._data_nodes.clear()
            if "stack_data_memory" in self._virtual_nodes:
                self.delete_node(self._virtual_nodes["stack_data_memory"], move_names=False)
        self._notify_memory_change()

    def add_data(self, data: Union[torch.Tensor, Sequence[torch.Tensor]]) -> None:
        """Put input data in the data nodes.

        Args:
            data: A tensor ``(batch_1, ..., batch_k, n_features, feature)`` or a sequence
                of ``n_features`` tensors ``(batch_1, ..., batch_k, feature)``.
        """
        stack_node = self._virtual_nodes.get("stack_data_memory")
        if stack_node is not None:
            if isinstance(data, torch.Tensor):
                if data.dim() < 2:
                    raise TNValueError(
                        f"`data` should have at least 2 dims (..., n_features, "
                        f"feature), got shape {tuple(data.shape)}"
                    )
                stacked = data.movedim(-2, 0)
            else:
                stacked = torch.stack(list(data), 0)
            stack_node.tensor = stacked
            shape = stacked.shape[1:]
            for node in self._data_nodes.values():
                node._shape = shape
            return
        if not self._data_nodes:
            raise TNValueError(
                f"Network {self.name!r} has no data nodes; call set_data_nodes() first"
            )
        for i, node in enumerate(self._data_nodes.values()):
            node.tensor = data[i]

    # -- reset / trace / forward ----------------------------------------------------------------
    def reset(self) -> None:
        """Delete resultant nodes and auto-stack memories; restore leaves' own memory."""
        self._traced = False
        self._seq_ops = []
        self._seq_succ = []
        self._inverse_memory = {}
        self._program = None
        if not self._resultant_nodes and not self._virtual_nodes:
            return
        params = self._parameters
        for group in (self._leaf_nodes, self._virtual_nodes):
            for node in list(group.values()):
                if node._virtual and "virtual_result" not in node._name:
                    continue
                node._successors = {}
                info = node._tensor_info
                if info["address"] is not None:
                    key = "param_" + info["address"]
                    if key in params:  # re-registered, as TensorKrowch does (keeps key order)
                        params[key] = params.pop(key)
                    continue
                ref = info["node_ref"]
                if ref._virtual and "virtual_uniform" in ref._name:
                    continue  # uniform networks keep sharing
                node.reset_tensor_address()
        for node in self._resultant_nodes.values():
            node._successors = {}
        for node in self._data_nodes.values():
            node._successors = {}
        for node in list(self._resultant_nodes.values()):
            self.delete_node(node, move_names=False)
        for node in list(self._virtual_nodes.values()):
            if "virtual_result" in node._name:
                self.delete_node(node, move_names=False)

    def trace(self, example: torch.Tensor | None = None, *args: Any, **kwargs: Any) -> None:
        """Record the contraction once, so later calls replay it and free intermediates.

        Args:
            example: Example input (any batch size) passed to ``forward``.
            *args, **kwargs: Passed to :meth:`contract`.
        """
        with torch.no_grad():
            self.reset()
            self._tracing = True
            try:
                self(example, *args, **kwargs)
            finally:
                self._tracing = False
            self(example, *args, **kwargs)
            self._traced = True

    def contract(self) -> AbstractNode:
        """Contract the network and return the result node (override in subclasses).

        By default every leaf and data node is contracted in one planned step by
        :func:`torchtn.contract_network` (automatic path, cached plan): batch axes of
        the same name are kept, every other open axis stays in the result, after the
        batch axes. Subclasses override it with a model-specific order.
        """
        import importlib

        # TODO(engine): registry lookup
        ops = importlib.import_module("torchtn.ops")
        return ops.contract_network(self)

    def forward(self, data: Any | None = None, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Set ``data``, then contract (first call) or replay the recorded operations.

        Returns:
            The tensor of the final node.
        """
        if data is not None:
            if not self._data_nodes:
                try:
                    self.set_data_nodes()
                except TypeError as err:
                    raise TNTypeError(
                        f"Network {self.name!r} has no data nodes and set_data_nodes() needs "
                        "arguments: override set_data_nodes() in your subclass or call it "
                        "explicitly before passing data"
                    ) from err
            self.add_data(data=data)
        if not self._resultant_nodes:
            return self.contract(*args, **kwargs).tensor
        return self._replay()

    def _replay(self) -> torch.Tensor:
        program = self._program
        if program is None or not program.valid_for(self):
            program = self._program = type(self)._compile_program(self)
        return program.run(self)
