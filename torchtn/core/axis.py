"""`Axis`: a named, numbered slot of a node, the thing edges attach to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torchtn.errors import TNTypeError, TNValueError

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.node import AbstractNode

__all__ = ["Axis"]


def _is_batch_name(name: str) -> bool:
    # Case-sensitive substring rule: 'mybatch_x' is batch, 'Batch' is not.
    return "batch" in name or "stack" in name


class Axis:
    """An axis of a node: its position ``num``, its ``name`` and its owner.

    Axes whose name contains ``"batch"`` or ``"stack"`` are *batch* axes: they may change
    size freely and are matched by name in contractions.

    Args:
        num: Position of the axis in its node.
        name: Axis name. ``"stack"`` is reserved for axis 0 of stack nodes.
        node: Owning node, or None for a free-standing axis.
        node1: Whether the owning node is ``node1`` of the edge at this axis.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``"stack"`` is used outside axis 0 of a stack node.
    """

    __slots__ = ("_num", "_name", "_node", "_node1", "_batch", "__weakref__")

    def __init__(
        self,
        num: int,
        name: str,
        node: AbstractNode | None = None,
        node1: bool = True,
    ) -> None:
        from torchtn.core.node import AbstractNode  # node imports axis at module level

        if not isinstance(num, int):
            raise TNTypeError(f"Axis `num` should be int, got {type(num).__name__}")
        if not isinstance(name, str):
            raise TNTypeError(f"Axis `name` should be str, got {type(name).__name__}")
        if node is not None and not isinstance(node, AbstractNode):
            raise TNTypeError(
                f"Axis `node` should be AbstractNode or None, got {type(node).__name__}"
            )
        if not isinstance(node1, bool):
            raise TNTypeError(f"Axis `node1` should be bool, got {type(node1).__name__}")
        if "stack" in name:
            from torchtn.core.stack_node import is_stack_node

            if node is None or not is_stack_node(node):
                raise TNValueError(
                    f"Axis name {name!r} contains 'stack', which is reserved for axis 0 of "
                    "StackNode/ParamStackNode"
                )
            if num != 0:
                raise TNValueError(f"Axis 'stack' must be axis 0 of its stack node, got num={num}")
        self._num = num
        self._name = name
        self._node = node
        self._node1 = node1
        self._batch = _is_batch_name(name)

    # -- properties ------------------------------------------------------------------------
    @property
    def num(self) -> int:
        """Position of the axis in its node."""
        return self._num

    @property
    def name(self) -> str:
        """Axis name; setting it re-enumerates the node's axis names."""
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        if not isinstance(name, str):
            raise TNTypeError(
                f"{self._label()}: new name should be str, got {name!r} ({type(name).__name__})"
            )
        if self._name == "stack":
            raise TNValueError(f"{self._label()}: the 'stack' axis cannot be renamed")
        if "stack" in name:
            raise TNValueError(
                f"{self._label()}: new name {name!r} contains 'stack', which is reserved for "
                "axis 0 of stack nodes"
            )
        if name == self._name:
            return
        if self._node is not None:
            self._node._change_axis_name(self, name)
        else:
            self._name = name
            self._batch = _is_batch_name(name)

    def _label(self) -> str:
        node = self._node
        where = "" if node is None else f" of node {node._name!r}"
        return f"Axis {self._name!r}{where}"

    @property
    def node(self) -> AbstractNode | None:
        """The node this axis belongs to."""
        return self._node

    def is_node1(self) -> bool:
        """Whether the owning node is ``node1`` of the edge at this axis."""
        return self._node1

    def is_batch(self) -> bool:
        """Whether this is a batch axis (name contains ``batch`` or ``stack``)."""
        return self._batch

    def __int__(self) -> int:
        return self._num

    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}( {self._name} ({self._num}) )"
