"""Validation of the data given to a network (``forward(data)`` / ``add_data(data)``).

TensorKrowch cropped data wider than the data nodes (keeping the *last* entries, with a
warning), so 65 features fed to a 64-feature model, or feature size 3 fed to size-2
inputs, trained silently on the wrong numbers. Here data must match the data nodes
exactly at every non-batch axis; :func:`check_data` raises before anything is stored,
so a rejected call leaves the network as it was. (``node.set_tensor`` keeps its
specified crop.)

Expected sizes are read from the *model* side of each data node's edges: the data
node's own shape follows whatever data it last received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from torchtn.errors import TNTypeError, TNValueError

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.network import TensorNetwork
    from torchtn.core.node import AbstractNode

__all__ = ["check_data", "check_forward_data"]


def _expected(node: AbstractNode) -> list[tuple[str, int | None, Any]]:
    """Per axis of a data node: ``(axis name, size or None for batch/free, model axis)``.

    The size is read on the other end of the edge (the model's axis, kept for error
    messages); batch axes and dangling edges are free (None).
    """
    out = []
    for ax, edge in zip(node._axes, node._edges, strict=True):
        if ax._batch or edge._nodes[1] is None:
            out.append((ax._name, None, None))
            continue
        other_ax = edge._axes[int(ax._node1)]  # the other end of the edge
        out.append((ax._name, other_ax._node._shape[other_ax._num], other_ax))
    return out


def _batch_words(spec: list[tuple[str, int | None, Any]]) -> str:
    names = [name for name, size, _ in spec if size is None]
    return f"{len(names)} batch ax{'is' if len(names) == 1 else 'es'}"


def _check_element(
    t: torch.Tensor,
    label: str,
    node: AbstractNode,
    spec: list[tuple[str, int | None, Any]],
    skip: int | None = None,
) -> tuple[int, ...]:
    """Check ``t`` (with axis ``skip`` removed, if given) against ``spec``; return the
    sizes at the batch/free axes."""
    shape = tuple(t.shape)
    if skip is not None:
        shape = shape[:skip] + shape[skip + 1 :]
    if len(shape) != len(spec):
        layout = ", ".join(("batch" if size is None else name) for name, size, _ in spec)
        extra = "" if skip is None else " plus the n_features axis"
        raise TNValueError(
            f"{label} should have rank {len(spec) + (skip is not None)} "
            f"({_batch_words(spec)}{extra}: data node {node._name!r} has axes ({layout})), "
            f"got shape {tuple(t.shape)}"
        )
    free = []
    for i, (dim, (name, size, where)) in enumerate(zip(shape, spec, strict=True)):
        if size is None:
            free.append(dim)
        elif dim != size:
            pos = i if skip is None or i < skip else i + 1
            raise TNValueError(
                f"{label} has size {dim} at axis {pos - t.dim()} ({name!r}), but data node "
                f"{node._name!r} expects {size} (the size of "
                f"{where._node._name}[{where._name!r}]); got shape "
                f"{tuple(t.shape)}. Data is never cropped: select the entries to use "
                "before calling the model"
            )
    return tuple(free)


def check_data(net: TensorNetwork, data: Any) -> None:
    """Check that ``data`` fits the data nodes of ``net`` exactly (nothing is cropped).

    Accepted forms, as in TensorKrowch:

    * one tensor ``(batch..., n_features, feature)`` when the data nodes share
      ``stack_data_memory`` (all have the same feature size);
    * a list/tuple of ``n_features`` tensors ``(batch..., feature)``, one per data node
      in :attr:`~torchtn.TensorNetwork.data_nodes` order (needed when feature sizes
      differ), all with the same batch sizes.

    Does nothing when the network has no data nodes (``add_data`` reports that).

    Raises:
        TypeError: ``data`` (or an element) is not a tensor / list / tuple of tensors.
        ValueError: Wrong number of features, wrong rank (number of batch axes) or a
            feature size that differs from the model's input edge; the message names
            the axis, the data node and the expected and found sizes.
    """
    nodes = list(net._data_nodes.values())
    if not nodes:
        return
    n = len(nodes)
    stacked = "stack_data_memory" in net._virtual_nodes
    if isinstance(data, torch.Tensor):
        if not stacked:
            sizes = [_expected(node)[-1][1] for node in nodes]
            raise TNValueError(
                f"Network {net.name!r} has data nodes of different feature sizes "
                f"({sizes}): give `data` as a list of {n} tensors (batch..., feature), "
                f"one per data node, not one tensor of shape {tuple(data.shape)}"
            )
        # Every data node has the same spec (that is why they share one memory).
        spec = _expected(nodes[0])
        rank = len(spec) + 1
        if data.dim() != rank:
            raise TNValueError(
                f"`data` should have rank {rank} ({_batch_words(spec)}, n_features, "
                f"feature) for network {net.name!r}, got shape {tuple(data.shape)}"
            )
        if data.shape[-2] != n:
            raise TNValueError(
                f"`data` has {data.shape[-2]} features (axis -2 of shape "
                f"{tuple(data.shape)}), but network {net.name!r} has {n} data nodes. "
                "Data is never cropped: select the features to use before calling the model"
            )
        _check_element(data, "`data`", nodes[0], spec, skip=data.dim() - 2)
        return
    if not isinstance(data, (list, tuple)):
        raise TNTypeError(
            f"`data` should be a torch.Tensor or a list/tuple of torch.Tensor, "
            f"got {type(data).__name__}"
        )
    if len(data) != n:
        raise TNValueError(
            f"`data` should have {n} elements (one per data node of network "
            f"{net.name!r}), got {len(data)}"
        )
    first = None
    shared = _expected(nodes[0]) if stacked else None  # stacked nodes share one spec
    for i, (t, node) in enumerate(zip(data, nodes, strict=True)):
        if not isinstance(t, torch.Tensor):
            raise TNTypeError(f"`data[{i}]` should be a torch.Tensor, got {type(t).__name__}")
        try:
            batch = _check_element(t, f"`data[{i}]`", node, shared or _expected(node))
        except TNValueError:
            if shared is None:
                raise
            # Re-check against this node's own edge so the message names it.
            batch = _check_element(t, f"`data[{i}]`", node, _expected(node))
        if first is None:
            first = batch
        elif batch != first:
            raise TNValueError(
                f"`data[{i}]` has batch sizes {batch} but `data[0]` has {first}: every "
                "element needs the same batch sizes"
            )


def check_forward_data(net: TensorNetwork, data: Any) -> None:
    """Check a ``forward`` call: without ``data``, every data node must hold a tensor
    (from an earlier call; a traced replay frees it, as in TK); with ``data``,
    :meth:`add_data` checks it.

    Raises:
        ValueError: ``data`` is None and some data node holds no tensor yet.
    """
    if data is not None:
        return
    for node in net._data_nodes.values():
        if node.tensor is None:
            raise TNValueError(
                f"Network {net.name!r} was called without data, but its data node "
                f"{node._name!r} holds no tensor (none was given yet, or the replay of "
                "a traced network freed it): pass the data, e.g. `model(data)` (for an "
                "MPSData given as `mps=`, call its add_data() again)"
            )
