"""Tree tensor networks: :class:`Tree` and the uniform :class:`UTree`.

Layer 0 takes the data; the inputs of each node of layer ``l > 0`` are the outputs of
layer ``l - 1`` in node order; the last layer has one root whose ``output`` stays open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torchtn.core.network import TensorNetwork
from torchtn.core.node import AbstractNode, ParamNode
from torchtn.errors import TNTypeError, TNValueError
from torchtn.models._conv import AbstractConvClass, IntPair
from torchtn.models._validate import check_n_batches, check_size

__all__ = ["Tree", "UTree", "ConvTree", "ConvUTree"]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_sites(sites_per_layer: Any) -> list[int]:
    if not isinstance(sites_per_layer, (list, tuple)):
        raise TNTypeError(
            f"`sites_per_layer` should be a list or tuple, got {type(sites_per_layer).__name__}"
        )
    if not sites_per_layer:
        raise TNValueError("`sites_per_layer` should not be empty")
    for s in sites_per_layer:
        if not _is_int(s):
            raise TNTypeError(f"`sites_per_layer` entries should be ints, got {s!r}")
        if s < 1:
            raise TNValueError(f"`sites_per_layer` entries should be >= 1, got {s}")
    if sites_per_layer[-1] != 1:
        raise TNValueError(f"The last layer should have 1 site, got {sites_per_layer[-1]}")
    return list(sites_per_layer)


def _check_shape(shape: Any, name: str) -> list[int]:
    """A node shape ``name`` (inputs then output): a list/tuple of >= 2 sizes >= 1."""
    if not isinstance(shape, (list, tuple)):
        raise TNTypeError(f"`{name}` should be a list or tuple, got {type(shape).__name__}")
    if len(shape) < 2:
        raise TNValueError(
            f"`{name}` should have at least 2 entries (inputs and output), got {len(shape)}"
        )
    return [check_size(v, f"{name}[{k}]") for k, v in enumerate(shape)]


def _check_n_batches(n_batches: Any) -> int:
    return check_n_batches(n_batches)


def _tree_args(sites_per_layer: Any, bond_dim: Any) -> tuple[list[int], list[list[int]]]:
    """Validated ``(sites_per_layer, bond_dim)`` of a :class:`Tree`."""
    sites = _check_sites(sites_per_layer)
    if not isinstance(bond_dim, (list, tuple)):
        raise TNTypeError(f"`bond_dim` should be a list or tuple, got {type(bond_dim).__name__}")
    shapes = [_check_shape(b, f"bond_dim[{i}]") for i, b in enumerate(bond_dim)]
    if len(shapes) != len(sites):
        raise TNValueError(
            f"`sites_per_layer` and `bond_dim` should have the same length, "
            f"got {len(sites)} and {len(shapes)}"
        )
    return sites, shapes


def _check_conv_tree(n_inputs: int, kernel_size: Any) -> None:
    """Layer 0 of a conv tree (``n_inputs`` input edges) takes one input per kernel pixel."""
    kh, kw = kernel_size
    if n_inputs != kh * kw:
        raise TNValueError(
            f"`kernel_size` {tuple(kernel_size)} gives {kh * kw} pixels per window, but "
            f"layer 0 of the tree takes {n_inputs} inputs (sites_per_layer[0] x "
            "(len(bond_dim[0]) - 1)): they should be equal"
        )


class Tree(TensorNetwork):
    """Tree tensor network: layer ``l`` has ``sites_per_layer[l]`` nodes of shape ``bond_dim[l]``.

    Args:
        sites_per_layer: Nodes per layer, bottom first; the last entry must be 1.
        bond_dim: One shape per layer: input dimensions then the output dimension.
        n_batches: Number of batch axes of the input data.

    Differences from TensorKrowch:
        * ``contract(inline=False)`` contracts the children one node at a time, like
          ``inline=True`` (same values; no stacked bookkeeping nodes).
    """

    def __init__(
        self, sites_per_layer: Sequence[int], bond_dim: Sequence[Sequence[int]], n_batches: int = 1
    ) -> None:
        super().__init__(name="tree")
        sites, shapes = _tree_args(sites_per_layer, bond_dim)
        self._n_batches = _check_n_batches(n_batches)
        self._sites_per_layer = sites
        self._bond_dim = shapes
        self._make_nodes([[s] * n for s, n in zip(shapes, sites, strict=True)])
        self.initialize()

    def _make_nodes(self, shapes: list[list[list[int]]]) -> None:
        self.layers = []
        for layer, layer_shapes in enumerate(shapes):
            nodes = []
            for j, shape in enumerate(layer_shapes):
                k = len(shape) - 1
                axes = ["input"] * k + ["output"]
                nodes.append(
                    ParamNode(
                        shape=tuple(shape),
                        axes_names=axes,
                        name=f"tree_node_({layer},{j})",
                        network=self,
                    )
                )
            if layer > 0:
                outputs = [n["output"] for n in self.layers[-1]]
                inputs = [e for n in nodes for e in n.edges[:-1]]
                if len(inputs) != len(outputs):
                    raise TNValueError(
                        f"Layer {layer} has {len(inputs)} input edges but layer {layer - 1} "
                        f"has {len(outputs)} output edges"
                    )
                for out_edge, in_edge in zip(outputs, inputs, strict=True):
                    if out_edge.size() != in_edge.size():
                        raise TNValueError(
                            f"Layer {layer - 1} output of size {out_edge.size()} cannot feed an "
                            f"input of size {in_edge.size()} in layer {layer}"
                        )
                    out_edge ^ in_edge
            self.layers.append(nodes)

    # -- properties ------------------------------------------------------------------------
    @property
    def sites_per_layer(self) -> list[int]:
        """Nodes per layer, bottom first."""
        return list(self._sites_per_layer)

    @property
    def bond_dim(self) -> list[list[int]]:
        """Node shape of each layer."""
        return [list(b) for b in self._bond_dim]

    @property
    def n_batches(self) -> int:
        """Number of batch axes of the input data."""
        return self._n_batches

    def _draw_positions(self) -> dict[str, tuple[float, float]]:
        """Drawing layout: layer ``l`` at height ``l``, each node above its children, the
        data nodes in a row under the bottom layer."""
        pos: dict[str, tuple[float, float]] = {}
        xs: list[float] = []
        for layer, nodes in enumerate(self.layers):
            new_xs, k = [], 0
            for node in nodes:
                n_in = node.rank - 1
                if layer == 0:
                    x = k + (n_in - 1) / 2
                    for e in node.edges[:-1]:
                        data = e.nodes[0] if e.nodes[0] is not node else e.nodes[1]
                        if data is not None and data.is_data():
                            pos[data.name] = (float(k), -1.0)
                        k += 1
                else:
                    x = sum(xs[k : k + n_in]) / n_in
                    k += n_in
                new_xs.append(x)
                pos[node.name] = (float(x), float(layer))
            xs = new_xs
        return pos

    # -- initialisation / data -------------------------------------------------------------
    def initialize(self, std: float = 1e-9) -> None:
        """Each node ``randn * std`` with the all-zero-index entry set to 1."""
        for layer in self.layers:
            for node in layer:
                t = torch.randn(node.shape) * std
                t[(0,) * t.dim()] = 1.0
                node.tensor = t

    def _tk_stack_layout(self) -> list[list[AbstractNode]]:
        # TensorKrowch's trace stacks each layer.
        return [list(layer) for layer in self.layers] if self._auto_stack else []

    def _sizes_changed(self) -> None:
        self._bond_dim = [[list(n.shape) for n in layer] for layer in self.layers]

    def set_data_nodes(self) -> None:
        """One data node per layer-0 input edge (node order, then axis order)."""
        edges = [e for node in self.layers[0] for e in node.edges[:-1]]
        super().set_data_nodes(edges, self._n_batches)

    def contract(self, inline: bool = False) -> AbstractNode:
        """Contract bottom-up; returns a node ``(batch..., out_root)``."""
        children = list(self.data_nodes.values())
        if not children:
            raise TNValueError("Tree.contract needs data: call forward(data) first")
        for layer in self.layers:
            results, k = [], 0
            for node in layer:
                result = node
                for _ in range(node.rank - 1):
                    result = children[k] @ result
                    k += 1
                results.append(result)
            children = results
        return children[0]

    @torch.no_grad()
    def canonicalize(
        self,
        mode: str = "svd",
        rank: int | None = None,
        cum_percentage: float | None = None,
        cutoff: float | None = None,
    ) -> None:
        """Turn every non-root node into an isometry (inputs -> output), bottom-up.

        For each child in order, the child and its parent are merged across their edge and
        split again (``'svd'``/``'svdr'`` with the usual ``rank``/``cum_percentage``/``cutoff``
        rule, ``rank=None`` meaning full rank, or ``'qr'``): the child keeps the isometry and
        the parent the rest, so bonds may grow up to the smaller side of the merged matrix.
        Nodes are replaced by new ParamNodes with the same names; ``bond_dim`` becomes the
        per-node form ``[[shape of each node] per layer]``.

        Raises:
            ValueError: Unknown ``mode``, ``rank < 1``, ``cum_percentage`` outside
                ``(0, 1]`` or ``cutoff < 0``.
            TypeError: A non-int ``rank`` or a non-number ``cum_percentage``/``cutoff``.
        """
        from torchtn.linalg import check_truncation, qr, truncated_svd

        if mode not in ("svd", "svdr", "qr"):
            raise TNValueError(f"`mode` should be 'svd', 'svdr' or 'qr', got {mode!r}")
        check_truncation(rank, cum_percentage, cutoff)
        if len(self.layers) < 2:
            return
        tensors = [[n.tensor.detach().clone() for n in layer] for layer in self.layers]
        for ell in range(len(tensors) - 1):
            parents = tensors[ell + 1]
            slots = [(p, k) for p, t in enumerate(parents) for k in range(t.dim() - 1)]
            for child, (p, k) in zip(range(len(tensors[ell])), slots, strict=True):
                t = tensors[ell][child]
                rest = parents[p].movedim(k, 0)
                m = t.reshape(-1, t.shape[-1]) @ rest.reshape(rest.shape[0], -1)
                if mode == "qr":
                    a, b = qr(m)
                else:
                    a, b, _ = truncated_svd(
                        m,
                        side="right",
                        rank=rank,
                        cum_percentage=cum_percentage,
                        cutoff=cutoff,
                        random_phase=mode == "svdr",
                    )
                tensors[ell][child] = a.reshape(*t.shape[:-1], a.shape[-1])
                parents[p] = b.reshape(b.shape[0], *rest.shape[1:]).movedim(0, k)
        had_data = bool(self.data_nodes)
        self.reset()
        if had_data:
            self.unset_data_nodes()
        for layer in self.layers:
            for node in layer:
                self.delete_node(node)
        shapes = [[list(t.shape) for t in layer] for layer in tensors]
        self._make_nodes(shapes)
        for layer, layer_t in zip(self.layers, tensors, strict=True):
            for node, t in zip(layer, layer_t, strict=True):
                node.tensor = t
        self._bond_dim = shapes
        if had_data:
            self.set_data_nodes()


class UTree(Tree):
    """Tree whose nodes all share one ``virtual_uniform`` tensor of shape ``bond_dim``.

    Args:
        sites_per_layer: Nodes per layer, bottom first; the last entry must be 1.
        bond_dim: The shared node shape (inputs then output).
        n_batches: Number of batch axes of the input data.
    """

    def _sizes_changed(self) -> None:
        self._bond_dim = list(self.layers[0][0].shape)

    def _tk_stack_layout(self) -> list:
        return []  # the nodes share ``virtual_uniform``: nothing is auto-stacked

    def __init__(
        self, sites_per_layer: Sequence[int], bond_dim: Sequence[int], n_batches: int = 1
    ) -> None:
        TensorNetwork.__init__(self, name="tree")
        sites = _check_sites(sites_per_layer)
        shape = _check_shape(bond_dim, "bond_dim")
        self._n_batches = _check_n_batches(n_batches)
        self._sites_per_layer = sites
        self._bond_dim = shape
        self._make_nodes([[shape] * n for n in sites])
        k = len(shape) - 1
        self.uniform_memory = ParamNode(
            shape=tuple(shape),
            axes_names=["input"] * k + ["output"],
            name="virtual_uniform",
            network=self,
            virtual=True,
        )
        self.initialize()

    @property
    def bond_dim(self) -> list[int]:
        """The shared node shape."""
        return list(self._bond_dim)

    def initialize(self, std: float = 1e-9) -> None:
        """Uniform tensor ``randn * std`` with the all-zero-index entry set to 1."""
        t = torch.randn(self.uniform_memory.shape) * std
        t[(0,) * t.dim()] = 1.0
        self.uniform_memory.tensor = t
        for layer in self.layers:
            for node in layer:
                node.set_tensor_from(self.uniform_memory)

    def canonicalize(self, *args: Any, **kwargs: Any) -> None:
        """UTree has no canonical form."""
        raise NotImplementedError("UTree has no canonicalize")


class ConvTree(AbstractConvClass, Tree):
    """Tree applied to every window of an image; ``in_channels = bond_dim[0][0]``.

    Args:
        sites_per_layer, bond_dim: As :class:`Tree` (layer 0 must take ``kh * kw`` inputs).
        kernel_size, stride, padding, dilation: As :class:`torch.nn.Unfold` (int or pair).

    ``forward(image)`` maps ``(B, C, H, W)`` to ``(B, out, h_out, w_out)``.
    """

    def __init__(
        self,
        sites_per_layer: Sequence[int],
        bond_dim: Sequence[Sequence[int]],
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        dilation: IntPair = 1,
    ) -> None:
        kernel = self._check_conv_args(None, kernel_size, stride, padding, dilation)
        sites, shapes = _tree_args(sites_per_layer, bond_dim)
        _check_conv_tree(sites[0] * (len(shapes[0]) - 1), kernel)
        Tree.__init__(self, sites_per_layer, bond_dim, n_batches=2)
        self._setup_conv(self._bond_dim[0][0], kernel_size, stride, padding, dilation)

    def forward(self, image: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Contract the tree with every window of ``image`` ``(B, C, H, W)``."""
        return self._conv_forward(super().forward, image, "flat", *args, **kwargs)


class ConvUTree(AbstractConvClass, UTree):
    """Uniform tree applied to every window of an image; ``in_channels = bond_dim[0]``.

    Args: as :class:`ConvTree` with a single shared node shape ``bond_dim``.
    """

    def __init__(
        self,
        sites_per_layer: Sequence[int],
        bond_dim: Sequence[int],
        kernel_size: IntPair,
        stride: IntPair = 1,
        padding: IntPair = 0,
        dilation: IntPair = 1,
    ) -> None:
        kernel = self._check_conv_args(None, kernel_size, stride, padding, dilation)
        sites = _check_sites(sites_per_layer)
        _check_conv_tree(sites[0] * (len(_check_shape(bond_dim, "bond_dim")) - 1), kernel)
        UTree.__init__(self, sites_per_layer, bond_dim, n_batches=2)
        self._setup_conv(self._bond_dim[0], kernel_size, stride, padding, dilation)

    def forward(self, image: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Contract the tree with every window of ``image`` ``(B, C, H, W)``."""
        return self._conv_forward(super().forward, image, "flat", *args, **kwargs)
