"""Node initializers: ``empty``, ``zeros``, ``ones``, ``copy``, ``rand``, ``randn``.

Each returns a new :class:`~torchtn.Node` (or :class:`~torchtn.ParamNode` with
``param_node=True``) of the given shape; other keyword arguments go to the node
constructor (``axes_names``, ``name``, ``network``, ``device``, ``dtype``, ...).
"""

from __future__ import annotations

from typing import Any, Optional, Union

from torchtn.core.node import Node, ParamNode
from torchtn.typing import Shape

__all__ = ["empty", "zeros", "ones", "copy", "rand", "randn"]


def _make(shape: Shape, param_node: bool, init_method: Optional[str], kwargs: dict
          ) -> Union[Node, ParamNode]:
    cls = ParamNode if param_node else Node
    return cls(shape=shape, init_method=init_method, **kwargs)


def empty(shape: Shape, param_node: bool = False, **kwargs: Any) -> Union[Node, ParamNode]:
    """A node with no tensor."""
    return _make(shape, param_node, None, kwargs)


def zeros(shape: Shape, param_node: bool = False, **kwargs: Any) -> Union[Node, ParamNode]:
    """A node filled with zeros."""
    return _make(shape, param_node, "zeros", kwargs)


def ones(shape: Shape, param_node: bool = False, **kwargs: Any) -> Union[Node, ParamNode]:
    """A node filled with ones."""
    return _make(shape, param_node, "ones", kwargs)


def copy(shape: Shape, param_node: bool = False, **kwargs: Any) -> Union[Node, ParamNode]:
    """A node with ones on the generalized diagonal (``T[k, ..., k] = 1``)."""
    return _make(shape, param_node, "copy", kwargs)


def rand(shape: Shape, param_node: bool = False, **kwargs: Any) -> Union[Node, ParamNode]:
    """A node with uniform entries in ``[low, high)`` (floats, default 0 and 1)."""
    return _make(shape, param_node, "rand", kwargs)


def randn(shape: Shape, param_node: bool = False, **kwargs: Any) -> Union[Node, ParamNode]:
    """A node with normal entries of ``mean`` and ``std`` (floats, default 0 and 1)."""
    return _make(shape, param_node, "randn", kwargs)
