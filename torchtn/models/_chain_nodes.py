"""Node-level pieces shared by the chain networks (:class:`MPS` family, ``MPSData``, ``MPO``).

Read-only attribute properties, the wiring of a chain of cores with its OBC boundary
vectors, the user-convention view of the cores, the left-to-right contraction step and
the rebuild of the nodes after a canonical sweep. The pure tensor helpers are in
:mod:`torchtn.models._chain`.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import torch

import torchtn.ops as op
from torchtn.core import AbstractNode, ParamNode
from torchtn.errors import TNValueError
from torchtn.models._chain import check_int, resize, zero_boundary

__all__ = ["attribute", "renormalized", "inline_chain", "trace_loops", "ChainNodesMixin"]


def attribute(name: str, doc: str) -> property:
    """A read-only property returning ``self.<name>``, documented by ``doc``."""
    return property(operator.attrgetter(name), doc=doc)


def renormalized(node: AbstractNode, keys: tuple[str, ...]) -> AbstractNode:
    """``node`` divided by its norm over the axes whose names contain one of ``keys``."""
    axes = [ax for ax in node.axes_names if any(k in ax for k in keys)]
    return node.renormalize(axis=axes) if axes else node


def inline_chain(nodes: list[AbstractNode], renormalize: bool) -> AbstractNode:
    """Contract ``nodes`` left to right; optionally normalise each partial product over
    its ``right`` axes (TK's inline rule)."""
    result = nodes[0]
    for node in nodes[1:]:
        result = result @ node
        if renormalize:
            result = renormalized(result, ("right",))
    return result


def trace_loops(node: AbstractNode) -> AbstractNode:
    """``node`` with the edges joining it to itself (closed periodic bonds) traced out."""
    loops = [e for e in node.edges if not e.is_dangling() and e.node1 is e.node2]
    return op.contract_edges(loops, node, node) if loops else node


class ChainNodesMixin:
    """Wiring, boundary vectors and rebuild of a chain of cores (``_mats_env``).

    Cores have ``left``/``right`` bond axes; an OBC chain is closed by the ``left_node`` /
    ``right_node`` vectors (``e_0``). ``_RIGHT_AXIS`` is the cores' right bond axis, the
    left bond lying two axes before it (see :func:`~torchtn.models._chain.zero_boundary`).
    """

    _RIGHT_AXIS = -1

    n_features = attribute("_n_features", "Number of sites.")
    boundary = attribute("_boundary", "``'obc'`` or ``'pbc'``.")
    left_node = attribute("_left_node", "Left boundary vector (obc) or None.")
    right_node = attribute("_right_node", "Right boundary vector (obc) or None.")

    def _link(self, mats: list[AbstractNode], left_size: int, right_size: int) -> None:
        """Store ``mats`` as the chain, connect neighbours and close it (pbc: the loop;
        obc: boundary vectors of sizes ``left_size``/``right_size``).

        OBC boundary vectors left dangling in this network by :meth:`_rebuild` are kept
        (resized) rather than re-created, so their names and parameter keys stay.
        """
        self._mats_env = mats
        for a, b in zip(mats[:-1], mats[1:], strict=False):
            a["right"] ^ b["left"]
        if self._boundary == "pbc":
            mats[-1]["right"] ^ mats[0]["left"]
            self._left_node = self._right_node = None
            return
        self._left_node = self._kept_boundary("_left_node", "right", left_size)
        self._right_node = self._kept_boundary("_right_node", "left", right_size)
        self._left_node["right"] ^ mats[0]["left"]
        mats[-1]["right"] ^ self._right_node["left"]

    def _kept_boundary(self, attr: str, axis: str, size: int) -> AbstractNode:
        """The boundary vector ``attr`` if it is in this network with a dangling edge
        (resized to ``size``), else a new ParamNode (``left_node``/``right_node``)."""
        node = self.__dict__.get(attr)
        if node is not None and node.network is self and node[axis].is_dangling():
            if node[axis].size() != size:
                node[axis].change_size(size)
            return node
        name = "left_node" if axis == "right" else "right_node"
        return ParamNode(shape=(size,), axes_names=(axis,), name=name, network=self)

    def _draw_positions(self) -> dict[str, tuple[float, float]]:
        """Drawing layout: the cores on a line (obc, between the boundary vectors) or on
        a circle (pbc)."""
        mats = self._mats_env
        n = len(mats)
        if self._boundary == "pbc":
            r = max(1.0, n / (2 * math.pi))
            return {
                m.name: (r * math.sin(2 * math.pi * i / n), r * math.cos(2 * math.pi * i / n))
                for i, m in enumerate(mats)
            }
        pos = {m.name: (float(i), 0.0) for i, m in enumerate(mats)}
        pos[self._left_node.name] = (-1.0, 0.0)
        pos[self._right_node.name] = (float(n), 0.0)
        return pos

    def _reset_boundary(self, device: Any, dtype: Any) -> None:
        """Set the obc boundary vectors to ``e_0``."""
        if self._boundary == "obc":
            for node in (self._left_node, self._right_node):
                node.set_tensor(init_method="copy", device=device, dtype=dtype)

    def _user_tensors(self) -> list[torch.Tensor]:
        """Cores in the user convention (obc boundary vectors contracted in)."""
        ts = [node.tensor for node in self._mats_env]
        if self._boundary == "pbc":
            return ts
        left, right = self._left_node.tensor, self._right_node.tensor
        core = "abcd"[: len(self._mats_env[0].shape)]  # bonds: a (left), c (right)
        if len(ts) == 1:
            return [torch.einsum(f"a,{core},c->{core[1:].replace('c', '')}", left, ts[0], right)]
        first = torch.einsum(f"a,{core}->{core[1:]}", left, ts[0])
        last = torch.einsum(f"{core},c->{core.replace('c', '')}", ts[-1], right)
        return [first, *ts[1:-1], last]

    def _parameterize_nodes(self, set_param: bool) -> None:
        """Replace the cores (and obc boundary vectors) by (Param)Nodes, in place."""
        self._mats_env = [node.parameterize(set_param) for node in self._mats_env]
        if self._boundary == "obc":
            self._left_node = self._left_node.parameterize(set_param)
            self._right_node = self._right_node.parameterize(set_param)

    # -- canonical forms (computed on tensors, then written back) -----------------------------
    def _padded_cores(self) -> list[torch.Tensor]:
        """Cores with obc padded entries zeroed (boundary vectors are ``e_0``)."""
        cores = [node.tensor.detach() for node in self._mats_env]
        if self._boundary == "obc":
            cores[0] = zero_boundary(cores[0], "left", self._RIGHT_AXIS)
            cores[-1] = zero_boundary(cores[-1], "right", self._RIGHT_AXIS)
        return cores

    def _check_canonical(self, oc: int | None, mode: str) -> int:
        """Validate ``canonicalize``'s ``oc`` (None: last site) and ``mode``."""
        oc = self._check_oc(oc)
        if mode not in ("svd", "svdr", "qr"):
            raise TNValueError(f"`mode` should be 'svd', 'svdr' or 'qr', got {mode!r}")
        return oc

    def _check_oc(self, oc: int | None) -> int:
        n = self._n_features
        if oc is None:
            return n - 1
        check_int(oc, "oc")
        if not 0 <= oc < n:
            raise TNValueError(f"`oc` should be in [0, {n - 1}], got {oc}")
        return oc

    def _rescaled(self, cores: list[torch.Tensor], log_norm: torch.Tensor) -> list[torch.Tensor]:
        """Spread the norm ``exp(log_norm)`` divided out by a sweep evenly over ``cores``."""
        scale = torch.exp(log_norm / self._n_features).to(cores[0].dtype)
        return [c * scale for c in cores]

    def _rebuild(self, cores: list[torch.Tensor]) -> None:
        """Replace the cores by new ParamNodes holding ``cores`` (bonds may change).

        As in TensorKrowch, the OBC boundary vectors (names, parameter keys) and the
        nodes attached to the cores' physical edges (data nodes, an ``MPSData``'s
        cores) stay: they are reconnected to the new cores.
        """
        self.reset()
        before = dict(self._parameters)
        old = list(self._mats_env)
        attached = [self._physical_neighbours(node) for node in old]
        ref = cores[0]
        for node in old:
            self.delete_node(node)
        n = self._n_features
        if self._boundary == "obc":
            self._bond_dim = [c.shape[2] for c in cores[:-1]]
            if n > 1:
                cores[0] = resize(cores[0], 0, self._bond_dim[0])
                cores[-1] = resize(cores[-1], 2, self._bond_dim[-1])
        else:
            self._bond_dim = [c.shape[2] for c in cores]
        self._make_nodes()
        for node, t in zip(self._mats_env, cores, strict=False):
            node.tensor = t
        self._reset_boundary(ref.device, ref.dtype)
        self._keep_parameter_identity(before, "canonicalize")
        for node, links in zip(self._mats_env, attached, strict=True):
            for axis_name, other, other_num in links:
                other._edges[other_num] ^ node[axis_name]

    @staticmethod
    def _physical_neighbours(node: AbstractNode) -> list[tuple[str, AbstractNode, int]]:
        """``(axis name, neighbour, neighbour's axis number)`` for every connected
        non-bond (``left``/``right``) edge of ``node``."""
        out = []
        for ax, edge in zip(node.axes, node.edges, strict=True):
            if ax.name in ("left", "right") or edge.is_dangling():
                continue
            k = int(ax.is_node1())
            out.append((ax.name, edge.nodes[k], edge.axes[k].num))
        return out
