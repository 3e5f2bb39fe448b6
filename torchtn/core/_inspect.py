"""The inspection half of `TensorNetwork`: graphs, drawings, summaries, contraction plans.

It also holds the view of a set of nodes as one einsum (labels from edges, batch axes
matched by name) that ``torchtn.contract_network`` runs and ``contraction_plan()`` prices.

``to_networkx()`` describes the network as a networkx graph; ``draw()`` hands that graph
(and a model's own positions, from the ``_draw_positions`` hook) to
:mod:`torchtn.viz.draw`; ``summary()`` fills a :class:`torchtn.viz.summary.SummaryTable`.
networkx and matplotlib are imported only when these methods run.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import opt_einsum

from torchtn.errors import TNTypeError, TNValueError
from torchtn.planning.network import ContractionPlan, plan_network
from torchtn.viz.summary import SummaryTable, format_bytes

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.node import AbstractNode

__all__ = [
    "InspectMixin",
    "check_nodes",
    "network_einsum",
    "network_nodes",
    "node_role",
    "plan_nodes",
    "resolve_nodes",
]


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


# -- the network as one einsum ---------------------------------------------------------
def _symbols() -> Iterator[str]:
    """Einsum labels: opt_einsum's symbols, minus any that a parser would split on."""
    for i in itertools.count():
        symbol = opt_einsum.get_symbol(i)
        if not symbol.isspace() and symbol not in ".,->":
            yield symbol


def network_nodes(network: Any) -> list[AbstractNode]:
    """The nodes ``contract_network(network)`` contracts: the leaf then the data nodes."""
    return [*network._leaf_nodes.values(), *network._data_nodes.values()]


def resolve_nodes(nodes_or_network: Any) -> list[AbstractNode]:
    """The nodes of ``contract_network(nodes_or_network)``, validated for type."""
    from torchtn.core.node import AbstractNode

    if isinstance(nodes_or_network, InspectMixin):  # a TensorNetwork
        nodes = network_nodes(nodes_or_network)
        if not nodes:
            raise TNValueError(
                f"Network {nodes_or_network.name!r} has no leaf or data nodes to contract"
            )
        return nodes
    if isinstance(nodes_or_network, AbstractNode) or not isinstance(nodes_or_network, Sequence):
        raise TNTypeError(
            "`nodes_or_network` should be a TensorNetwork or a sequence of nodes, got "
            f"{type(nodes_or_network).__name__}"
        )
    nodes = list(nodes_or_network)
    if not nodes:
        raise TNValueError("`nodes_or_network` is empty: give at least one node")
    for i, node in enumerate(nodes):
        if not isinstance(node, AbstractNode):
            raise TNTypeError(
                f"`nodes_or_network[{i}]` should be a node, got {type(node).__name__}"
            )
    return nodes


def check_nodes(nodes: Sequence[AbstractNode]) -> None:
    """Same network, no repeats, all stack nodes or none (raises otherwise)."""
    from torchtn.core.stack_node import is_stack_node

    net = nodes[0]._network
    seen: set[int] = set()
    for node in nodes:
        if node._network is not net:
            raise TNValueError(
                f"All nodes must be in the same network ({nodes[0]._name!r} and "
                f"{node._name!r} are not)"
            )
        if id(node) in seen:
            raise TNValueError(f"Node {node._name!r} is given twice")
        seen.add(id(node))
    stacks = [is_stack_node(n) for n in nodes]
    if any(stacks) and not all(stacks):
        first = nodes[stacks.index(True)]._name
        other = nodes[stacks.index(False)]._name
        raise TNTypeError(
            f"Cannot contract stack nodes with non-stack nodes ({first!r} and {other!r})"
        )


def network_einsum(
    nodes: Sequence[AbstractNode],
) -> tuple[list[str], str, list[tuple[Any, int]]]:
    """``(inputs, output, sources)``: one label string per node, the output labels and,
    for each output label, the ``(node, axis)`` it comes from.

    Edges are matched by identity, as ``@`` does: an edge held by two of the nodes at
    opposite ends (or by two axes of one node) is summed, so a resultant node, which
    holds its operands' edges, contracts with their neighbours.
    """
    slots: dict[int, list[tuple[Any, int]]] = {}
    for node in nodes:
        for j, edge in enumerate(node._edges):
            slots.setdefault(id(edge), []).append((node, j))
    symbols = _symbols()
    edge_labels: dict[int, str] = {}
    batch_labels: dict[str, str] = {}
    batch_out: list[tuple[str, tuple[Any, int]]] = []
    free_out: list[tuple[str, tuple[Any, int]]] = []
    inputs = []
    for node in nodes:
        term = []
        for j, (axis, edge) in enumerate(zip(node._axes, node._edges, strict=True)):
            held = slots[id(edge)]
            if len(held) == 2 and edge._nodes[1] is not None:
                (n1, j1), (n2, j2) = held
                if n1._axes[j1]._node1 == n2._axes[j2]._node1:
                    raise TNValueError(_shared_twice(edge, held))
                label = edge_labels.get(id(edge))
                if label is None:
                    label = edge_labels[id(edge)] = next(symbols)
            elif len(held) > 1:
                raise TNValueError(_shared_twice(edge, held))
            elif axis._batch:
                label = batch_labels.get(axis._name)
                if label is None:
                    label = batch_labels[axis._name] = next(symbols)
                    batch_out.append((label, (node, j)))
            else:
                label = next(symbols)
                free_out.append((label, (node, j)))
            term.append(label)
        inputs.append("".join(term))
    out = batch_out + free_out
    return inputs, "".join(label for label, _ in out), [src for _, src in out]


def _shared_twice(edge: Any, held: list[tuple[Any, int]]) -> str:
    where = ", ".join(f"{n._name}[{n._axes[j]._name}]" for n, j in held)
    return (
        f"Edge {edge!s} is held at the same end by several of the given nodes ({where}): "
        "give either a resultant node or the nodes it was computed from, not both"
    )


def plan_nodes(
    nodes: Sequence[AbstractNode], optimize: Any = "auto", memory_limit: int | None = None
) -> ContractionPlan:
    """The :class:`~torchtn.planning.ContractionPlan` of ``nodes`` at their current
    shapes, with the node names (what ``torchtn.contract_network`` would run)."""
    check_nodes(nodes)
    inputs, output, _ = network_einsum(nodes)
    sizes: dict[str, int] = {}
    for term, node in zip(inputs, nodes, strict=True):
        for label, size in zip(term, node._shape, strict=True):
            sizes[label] = int(size)
    plan = plan_network(inputs, output, sizes, optimize, memory_limit)
    return plan.with_names([n._name for n in nodes])


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

    def contraction_plan(
        self, optimize: Any = "auto", memory_limit: int | None = None
    ) -> ContractionPlan:
        """The plan ``torchtn.contract_network(self)`` follows (what ``contract()`` runs
        unless a subclass overrides it); see :func:`torchtn.contraction_plan`.

        Returns:
            A printable :class:`~torchtn.planning.ContractionPlan`.
        """
        return plan_nodes(resolve_nodes(self), optimize, memory_limit)
