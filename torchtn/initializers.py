"""Node initializers: ``empty``, ``zeros``, ``ones``, ``copy``, ``rand``, ``randn``.

Each ``f(shape, param_node=False, **kwargs)`` returns a new :class:`~torchtn.Node` (or
:class:`~torchtn.ParamNode` with ``param_node=True``) of the given shape whose tensor is
made by the init method of the same name; other keyword arguments go to the node
constructor (``axes_names``, ``name``, ``network``, ``data``, ``virtual``, ``device``,
``dtype``, and the floats ``low``/``high`` or ``mean``/``std``). Extra positional
arguments collide with ``shape`` (TypeError), as in TensorKrowch.

Examples:
    >>> import torchtn as tk
    >>> node = tk.randn((2, 5, 2), axes_names=('left', 'input', 'right'), std=0.1)
    >>> node.shape
    torch.Size([2, 5, 2])
"""

from __future__ import annotations

from typing import Any

from torchtn.core.node import Node, ParamNode
from torchtn.typing import Shape

__all__ = ["empty", "zeros", "ones", "copy", "rand", "randn"]


def _make(
    shape: Shape, param_node: bool, init_method: str | None, args: tuple, kwargs: dict
) -> Node | ParamNode:
    cls = ParamNode if param_node else Node
    return cls(*args, shape=shape, init_method=init_method, **kwargs)


def empty(shape: Shape, param_node: bool = False, *args: Any, **kwargs: Any) -> Node | ParamNode:
    """A node of ``shape`` with no tensor (``node.tensor is None``).

    Args:
        shape: Shape of the node.
        param_node: Return a :class:`~torchtn.ParamNode` instead of a Node.
        **kwargs: Node constructor arguments.
    """
    return _make(shape, param_node, None, args, kwargs)


def zeros(shape: Shape, param_node: bool = False, *args: Any, **kwargs: Any) -> Node | ParamNode:
    """A node filled with zeros (arguments as in :func:`empty`)."""
    return _make(shape, param_node, "zeros", args, kwargs)


def ones(shape: Shape, param_node: bool = False, *args: Any, **kwargs: Any) -> Node | ParamNode:
    """A node filled with ones (arguments as in :func:`empty`)."""
    return _make(shape, param_node, "ones", args, kwargs)


def copy(shape: Shape, param_node: bool = False, *args: Any, **kwargs: Any) -> Node | ParamNode:
    """A copy tensor: ones where all indices are equal (``T[k, ..., k] = 1``), else zeros.

    For rank 1 it is the first basis vector. Arguments as in :func:`empty`.
    """
    return _make(shape, param_node, "copy", args, kwargs)


def rand(shape: Shape, param_node: bool = False, *args: Any, **kwargs: Any) -> Node | ParamNode:
    """A node with uniform entries in ``[low, high)``.

    Args:
        shape: Shape of the node.
        param_node: Return a :class:`~torchtn.ParamNode` instead of a Node.
        **kwargs: ``low``, ``high`` (floats, default 0 and 1) and node constructor
            arguments.

    Raises:
        TypeError: If ``low`` or ``high`` is not a float.
        ValueError: If ``low >= high``.
    """
    return _make(shape, param_node, "rand", args, kwargs)


def randn(shape: Shape, param_node: bool = False, *args: Any, **kwargs: Any) -> Node | ParamNode:
    """A node with normal entries of mean ``mean`` and standard deviation ``std``.

    Args:
        shape: Shape of the node.
        param_node: Return a :class:`~torchtn.ParamNode` instead of a Node.
        **kwargs: ``mean``, ``std`` (floats, default 0 and 1) and node constructor
            arguments.

    Raises:
        TypeError: If ``mean`` or ``std`` is not a float.
        ValueError: If ``std <= 0``.
    """
    return _make(shape, param_node, "randn", args, kwargs)
