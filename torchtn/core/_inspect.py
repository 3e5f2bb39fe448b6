"""The inspection half of `TensorNetwork`: graphs, drawings, summaries, contraction plans.

``to_networkx()`` describes the network as a networkx graph; ``draw()`` hands that graph
(and a model's own positions, from the ``_draw_positions`` hook) to
:mod:`torchtn.viz.draw`; ``summary()`` fills a :class:`torchtn.viz.summary.SummaryTable`.
networkx and matplotlib are imported only when these methods run.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from torchtn.errors import TNTypeError
from torchtn.viz.summary import SummaryTable, format_bytes

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.node import AbstractNode

__all__ = ["InspectMixin", "node_role"]


def node_role(node: AbstractNode) -> str:
    """``'data'``, ``'virtual'``, ``'resultant'``, ``'parametric'`` (a leaf ParamNode) or
    ``'leaf'``."""
    if node._data:
        return "data"
    if node._virtual:
        return "virtual"
    if not node._leaf:
        return "resultant"
    from torchtn.core.param_node import ParamNode

    return "parametric" if isinstance(node, ParamNode) else "leaf"


def _param_count(net: Any, node: AbstractNode) -> int:
    address = node._tensor_info["address"] if node._tensor_info else None
    if address is None:
        return 0
    param = net._parameters.get("param_" + address)
    return 0 if param is None else param.numel()


def _owned_bytes(net: Any, node: AbstractNode) -> int:
    address = node._tensor_info["address"] if node._tensor_info else None
    t = None if address is None else net._memory_nodes.get(address)
    return 0 if t is None else t.numel() * t.element_size()


class InspectMixin:
    """Graph export, drawing, summary and contraction plan (mixed into TensorNetwork)."""

    def _draw_positions(self) -> dict[str, tuple[float, float]] | None:
        """Positions of some nodes (name -> (x, y)) for :meth:`draw`; None: generic layout.

        Models override this to lay themselves out (a chain on a line, a grid, a tree
        by levels); nodes they leave out (data nodes, open-edge ends) are placed next to
        their neighbours.
        """
        return None

    def _inspected_nodes(self, virtual: bool, resultant: bool) -> list[AbstractNode]:
        nodes = [*self._leaf_nodes.values(), *self._data_nodes.values()]
        if virtual:
            nodes += list(self._virtual_nodes.values())
        if resultant:
            nodes += list(self._resultant_nodes.values())
        return nodes

    def to_networkx(self, virtual: bool = False, resultant: bool = False) -> Any:
        """The network as a ``networkx.MultiGraph``.

        Nodes are keyed by node name, with attributes ``kind='node'``, ``role``
        (``'leaf'``, ``'parametric'``, ``'data'``, ``'virtual'``, ``'resultant'``),
        ``label`` (the name), ``type`` (class name), ``shape``, ``axes`` (axis names)
        and ``params``. An open edge (dangling, or leading to a node left out) ends at
        an extra node keyed ``('dangling', node name, axis name)`` with ``kind``/``role``
        ``'dangling'``, ``label`` (the axis name), ``batch`` and ``to`` (the name of the
        node left out, or None). Edges carry ``size`` (the dimension), ``ends``
        (``((node, axis name), (node, axis name))``, None as the axis of a free end) and
        ``batch``. The graph's ``name`` is the network's.

        Args:
            virtual: Include virtual nodes (stack memories, uniform tensors).
            resultant: Include resultant nodes (results of operations; their edges are
                the ones they took from their operands).

        Returns:
            The graph. Leaf and data nodes are always included.
        """
        import networkx as nx

        graph = nx.MultiGraph(name=self.name, network_class=type(self).__name__)
        nodes = self._inspected_nodes(virtual, resultant)
        included = {id(n) for n in nodes}
        for node in nodes:
            graph.add_node(
                node._name,
                kind="node",
                role=node_role(node),
                label=node._name,
                type=type(node).__name__,
                shape=tuple(node._shape),
                axes=tuple(ax._name for ax in node._axes),
                params=_param_count(self, node),
            )
        done: set[int] = set()
        for node in nodes:
            for axis, edge in zip(node._axes, node._edges, strict=True):
                n1, n2 = edge._nodes
                owned = node is n1 or node is n2
                size = int(node._shape[axis._num])
                if owned and n2 is not None and id(n1) in included and id(n2) in included:
                    if id(edge) in done:
                        continue
                    done.add(id(edge))
                    a1, a2 = edge._axes
                    graph.add_edge(
                        n1._name,
                        n2._name,
                        size=size,
                        ends=((n1._name, a1._name), (n2._name, a2._name)),
                        batch=bool(a1._batch or a2._batch),
                    )
                    continue
                other = None
                if owned and n2 is not None:
                    other = (n2 if node is n1 else n1)._name
                key: Hashable = ("dangling", node._name, axis._name)
                graph.add_node(
                    key,
                    kind="dangling",
                    role="dangling",
                    label=axis._name,
                    batch=bool(axis._batch),
                    to=other,
                )
                graph.add_edge(
                    node._name,
                    key,
                    size=size,
                    ends=((node._name, axis._name), (key, None)),
                    batch=bool(axis._batch),
                )
        return graph

    def draw(
        self,
        ax: Any = None,
        layout: Any = "auto",
        show_bond_dims: bool = True,
        show_axis_names: bool | None = None,
        virtual: bool = False,
        resultant: bool = False,
        **kwargs: Any,
    ) -> tuple[Any, Any]:
        """Draw the network with matplotlib; return ``(figure, axes)``.

        Nodes are coloured by role (legend), bond dimensions are written on the edges,
        axis names at the edge ends, and open edges are drawn as short stubs (dashed for
        batch axes). With ``layout='auto'`` models place themselves (chains on a line,
        PEPS on a grid, trees by levels; see ``_draw_positions``) and other networks get
        a Kamada-Kawai layout. Works without a display (matplotlib's Agg backend).

        Args:
            ax: Matplotlib axes to draw on (None: a new figure).
            layout: ``'auto'``, a networkx layout name (``'kamada_kawai'``, ``'spring'``,
                ``'spectral'``, ``'circular'``, ``'shell'``) or a dict ``name -> (x, y)``
                of positions (others placed automatically).
            show_bond_dims: Write each edge's dimension.
            show_axis_names: Write axis names at the edge ends (None: for networks of at
                most 40 nodes).
            virtual: Also draw virtual nodes.
            resultant: Also draw resultant nodes.
            **kwargs: Passed to :func:`torchtn.viz.draw.draw_graph` (``legend``,
                ``title``, ``node_size``, ``font_size``, ``figsize``,
                ``show_node_names``).

        Returns:
            The matplotlib ``Figure`` and ``Axes``.

        Raises:
            TypeError: If ``layout`` is neither a str nor a dict.
            ValueError: If ``layout`` names an unknown layout.

        Examples:
            >>> fig, ax = tk.models.MPSLayer(5, 2, 3, 4).draw()  # doctest: +SKIP
            >>> fig.savefig('mps.png')  # doctest: +SKIP
        """
        from torchtn.viz.draw import draw_graph

        graph = self.to_networkx(virtual=virtual, resultant=resultant)
        if isinstance(layout, dict):
            positions, layout = layout, "auto"
        elif isinstance(layout, str):
            positions = self._draw_positions() if layout == "auto" else None
        else:
            raise TNTypeError(
                f"`layout` should be a layout name or a dict of positions, got "
                f"{type(layout).__name__}"
            )
        kwargs.setdefault("title", f"{self.name} ({type(self).__name__})")
        return draw_graph(
            graph,
            ax=ax,
            positions=positions,
            layout=layout,
            show_bond_dims=show_bond_dims,
            show_axis_names=show_axis_names,
            **kwargs,
        )

    def summary(self, virtual: bool = False, resultant: bool = False) -> SummaryTable:
        """A table of the nodes (name, role, type, shape, parameters, memory) and totals.

        Totals: parameters (all, trainable), memory of the stored tensors (each memory
        slot once, parameters included), number of nodes per role, open edges and
        recorded operations. Print it (``print(net.summary())``) or read its ``data``.

        Args:
            virtual: Also list virtual nodes.
            resultant: Also list resultant nodes.

        Returns:
            A :class:`~torchtn.viz.summary.SummaryTable`; ``str()`` renders it like
            ``torchinfo``; ``data`` holds ``total_params``, ``trainable_params``,
            ``memory_bytes``, ``n_steps`` and ``roles`` (counts).
        """
        rows = []
        for node in self._inspected_nodes(virtual, resultant):
            shape = "(" + ", ".join(str(s) for s in node._shape) + ")"
            params = _param_count(self, node)
            rows.append(
                (
                    node._name,
                    node_role(node),
                    type(node).__name__,
                    shape,
                    f"{params:,}" if params else "-",
                    format_bytes(_owned_bytes(self, node)),
                )
            )
        params = list(self.parameters())
        total = sum(p.numel() for p in params)
        trainable = sum(p.numel() for p in params if p.requires_grad)
        seen: set[int] = set()
        memory = 0
        for t in self._memory_nodes.values():
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                memory += t.numel() * t.element_size()
        roles: dict[str, int] = {}
        for node in self._all_nodes.values():
            role = node_role(node)
            roles[role] = roles.get(role, 0) + 1
        n_steps = len(self._seq_ops)
        totals = [
            ("Total params", f"{total:,}"),
            ("Trainable params", f"{trainable:,}"),
            ("Non-trainable params", f"{total - trainable:,}"),
            ("Tensor memory", format_bytes(memory)),
            ("Nodes", ", ".join(f"{n} {r}" for r, n in roles.items()) or "0"),
            ("Open edges", f"{len(self._edges_d):,}"),
            ("Recorded operations", f"{n_steps:,}"),
        ]
        return SummaryTable(
            title=f"{type(self).__name__} {self.name!r}",
            columns=("Node", "Role", "Type", "Shape", "Params", "Memory"),
            rows=rows,
            totals=totals,
            align=("<", "<", "<", "<", ">", ">"),
            data={
                "total_params": total,
                "trainable_params": trainable,
                "memory_bytes": memory,
                "n_steps": n_steps,
                "roles": roles,
            },
        )

    def contraction_plan(self, optimize: Any = "auto", memory_limit: int | None = None) -> Any:
        """The plan ``torchtn.contract_network(self)`` follows (what ``contract()`` runs
        unless a subclass overrides it); see :func:`torchtn.contraction_plan`.

        Returns:
            A printable :class:`~torchtn.planning.ContractionPlan`.
        """
        import importlib

        # TODO(engine): registry lookup
        ops = importlib.import_module("torchtn.ops")
        return ops.contraction_plan(self, optimize=optimize, memory_limit=memory_limit)
