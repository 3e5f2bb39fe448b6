"""The execution half of `TensorNetwork`: data nodes, forward, trace, reset, compile.

``forward`` runs the user's ``contract()`` once, which records every operation's first
call in the network's :class:`~torchtn.core.recording.Recording`; after that it replays
the recording as one ``torch.fx`` graph (:mod:`torchtn.core.replay`) without touching
nodes, edges or caches per step:

* untraced, the replay returns every resultant's tensor and writes it back (TensorKrowch
  keeps them);
* after :meth:`~ExecutionMixin.trace`, it returns only the output; the consumed
  intermediate and data memories are freed (TensorKrowch's inverse memory), and the
  input data is passed to the graph without being stored. Node shapes are refreshed
  whenever the input shapes change;
* under ``torch.compile``/``torch.export`` tracing or a ``torch.func`` transform, it is a
  pure function of the input and the parameters: nothing is written to the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union

import torch

from torchtn.core._data_check import check_data, check_forward_data
from torchtn.core.memory import view_shape
from torchtn.core.registry import function
from torchtn.core.replay import ReplayProgram
from torchtn.errors import TNTypeError, TNValueError

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.edge import Edge
    from torchtn.core.node import AbstractNode

__all__ = ["ExecutionMixin"]


class ExecutionMixin:
    """Data nodes and the contract/replay cycle (mixed into TensorNetwork)."""

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
        seen: set[int] = set()
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
            if id(e) in seen:
                raise TNValueError(f"`input_edges[{i}]` ({e!s}) is given twice")
            seen.add(id(e))
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
        for address, tensor in self._data_tensors(data).items():
            node = self._all_nodes[address]
            if node._virtual:  # stack_data_memory: the data nodes are its slices
                node.tensor = tensor
                shape = tensor.shape[1:]
                for data_node in self._data_nodes.values():
                    data_node._shape = shape
            else:
                node.tensor = tensor

    def _data_tensors(self, data: Any) -> dict[str, torch.Tensor]:
        """What :meth:`add_data` stores, by memory address, without storing it.

        Raises:
            ValueError, TypeError: If ``data`` does not fit the data nodes exactly
                (:func:`~torchtn.core._data_check.check_data`: nothing is cropped).
        """
        check_data(self, data)
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
            return {stack_node._tensor_info["address"]: stacked}
        if not self._data_nodes:
            raise TNValueError(
                f"Network {self.name!r} has no data nodes; call set_data_nodes() first"
            )
        return {
            node._tensor_info["address"]: data[i]
            for i, node in enumerate(self._data_nodes.values())
        }

    def _data_shapes(self, values: dict[str, torch.Tensor]) -> None:
        """Give the data nodes the shapes of ``values`` (as :meth:`add_data` would)."""
        for address, tensor in values.items():
            node = self._all_nodes[address]
            node._shape = tensor.shape
            if node._virtual:
                shape = tensor.shape[1:]
                for data_node in self._data_nodes.values():
                    data_node._shape = shape

    # -- reset / trace / forward ----------------------------------------------------------------
    def reset(self) -> None:
        """Delete resultant nodes and auto-stack memories; restore leaves' own memory."""
        self._traced = False
        self._recording.clear()
        self._inverse_memory = {}
        self._replays = {}
        self._signature = None
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
            # TensorKrowch runs a second forward here to warm its caches; the recording
            # is complete after the first one (and the memories hold the same values).
            self._traced = True

    def contract(self) -> AbstractNode:
        """Contract the network and return the result node (override in subclasses).

        By default every leaf and data node is contracted in one planned step by
        :func:`torchtn.contract_network` (automatic path, cached plan): batch axes of
        the same name are kept, every other open axis stays in the result, after the
        batch axes. Subclasses override it with a model-specific order.
        """
        return function("contract_network")(self)

    def forward(self, data: Any | None = None, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Set ``data``, then contract (first call) or replay the recorded operations.

        Returns:
            The tensor of the final node.
        """
        check_forward_data(self, data)  # no data before any was given (core._data_check)
        if data is not None and not self._data_nodes:
            try:
                self.set_data_nodes()
            except TypeError as err:
                raise TNTypeError(
                    f"Network {self.name!r} has no data nodes and set_data_nodes() needs "
                    "arguments: override set_data_nodes() in your subclass or call it "
                    "explicitly before passing data"
                ) from err
        if not self._resultant_nodes:
            if _pure_call() or self._parameters_swapped():
                raise TNValueError(
                    f"Network {self.name!r} has recorded nothing yet: call trace(example) (or "
                    "run it once) before torch.compile, torch.export, torch.func transforms "
                    "or functional_call (its first call creates the recording, and "
                    "auto_stack may create parameters)"
                )
            if data is not None:
                self.add_data(data=data)
            try:
                return self.contract(*args, **kwargs).tensor
            except BaseException:
                self.reset()  # no half-recorded contraction is left behind
                raise
        return self._replay(data)

    def _parameters_swapped(self) -> bool:
        """Whether some ParamNode's parameter was swapped without the module knowing
        (``torch.func.functional_call`` writes the parameter dict directly)."""
        memory = self._memory_nodes
        for key, param in self._parameters.items():
            slot = memory.get(key[6:], param)
            if slot is not param:
                return True
        return False

    # -- replay ------------------------------------------------------------------------------
    def _program(self, full: bool) -> Any:
        """The replay program of the current recording (rebuilt when it changed)."""
        program = self._replays.get(full)
        if program is None or program.version != self._recording.version:
            # Only the steady-state form is compiled (the full form of a traced network
            # runs once per new input shape).
            kwargs = self._compile_kwargs if full != self._traced else None
            program = self._replays[full] = ReplayProgram(self, full, kwargs)
        return program

    def _replay(self, data: Any) -> torch.Tensor:
        pure = _pure_call()
        traced = self._traced or pure
        # A traced replay with known input shapes runs the lean form (only the output);
        # anything else runs the full form (every resultant, for write-back or shapes).
        program = self._replays.get(False) if traced else None
        if program is None or program.version != self._recording.version:
            program = self._program(True) if not pure else self._program(False)
        low = program.lowered
        values = None
        if data is not None:
            if not traced or type(self).add_data is not ExecutionMixin.add_data:
                self.add_data(data)  # untraced: data memories hold the data afterwards
            else:
                values = self._data_tensors(data)
        mem = self._memory_nodes
        if values is None:
            inputs = [mem[a] for a in low.inputs]
        else:
            inputs = [values[a] if a in values else mem[a] for a in low.inputs]
        if pure:
            return program(*inputs)[0]
        try:
            signature = (self._recording.version, *[t.shape for t in inputs])
        except AttributeError:
            raise _empty_input(self, low, inputs) from None
        if traced and signature == self._signature:
            if low.full:  # same shapes again: from now on the lean form
                program = self._program(False)
                low = program.lowered
            result = program(*inputs)
            out = result[0]
            owner = low.out_owner
            mem[owner._tensor_info["address"]] = result[1] if low.written else out
            if values is None and data is not None:  # add_data stored it: free it again
                for i in low.data_inputs:
                    mem[low.inputs[i]] = None
            return out
        result = program(*inputs)
        if values is not None:
            self._data_shapes(values)
        self._write_back(low, result)
        if traced:  # new input shapes: node shapes are refreshed, now free the memories
            for address in low.free:
                mem[address] = None
            self._signature = signature
        return result[0]

    def _write_back(self, low: Any, result: tuple) -> None:
        """Store the tensors a full replay returned in their nodes' memories."""
        mem = self._memory_nodes
        out_node = low.out_node
        for node, tensor in zip((out_node, *low.written), result, strict=True):
            info = node._tensor_info
            if info["address"] is not None:
                mem[info["address"]] = tensor
            node._shape = tensor.shape
        for node, _, _ in low.views:
            node._shape = view_shape(node)

    def compile(self, **kwargs: Any) -> None:
        """Run replays through ``torch.compile(**kwargs)`` from now on.

        Compiles the recorded replay (the ``fx`` graph of :meth:`replay_module`), not
        the first call's Python. Call it once, before or after :meth:`trace`; the
        compiled function is rebuilt when the recording changes. ``compile()`` with no
        arguments uses torch's defaults (inductor).
        """
        self._compile_kwargs = dict(kwargs)
        self._replays = {}
        self._signature = None

    def replay_module(self, traced: bool | None = None) -> torch.fx.GraphModule:
        """The ``fx.GraphModule`` that replays the recording.

        Args:
            traced: The traced form (returns only the output) or the untraced one
                (returns every resultant for write-back); the network's mode if None.

        Raises:
            ValueError: If nothing is recorded yet.
        """
        full = not self._traced if traced is None else not traced
        return self._program(full).module

    def replay_code(self, traced: bool | None = None) -> str:
        """The generated Python code of :meth:`replay_module`."""
        return self.replay_module(traced).code


def _pure_call() -> bool:
    """Whether forward must not write to the network (compile/export tracing, torch.func)."""
    return torch.compiler.is_compiling() or torch._C._are_functorch_transforms_active()


def _empty_input(net: Any, low: Any, inputs: list) -> TNValueError:
    for address, t in zip(low.inputs, inputs, strict=True):
        if t is None:
            return TNValueError(
                f"Node {address!r} of network {net.name!r} has no tensor (it is empty, or "
                "its memory was freed after a traced forward); pass data to forward or set "
                "the node's tensor"
            )
    return TNValueError(f"Network {net.name!r}: replay inputs are not tensors")
