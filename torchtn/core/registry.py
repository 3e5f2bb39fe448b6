"""The operation registry: which names are operations, and how core reaches them.

TensorKrowch keeps a class-level dict ``TensorNetwork.operations`` that every
``Operation(...)`` writes itself into (silently replacing an earlier one of the same
name) when its module is imported. Here the registry is explicit:

* the built-in operations are a static table (name -> ``module:attribute``), resolved on
  first use, so importing a module mutates nothing and the reserved node names do not
  depend on what was imported;
* user operations register by constructing ``tk.Operation(name, ...)`` (the
  TensorKrowch extension point) or :func:`register_operation`, and a name that is
  taken is refused with ``ValueError`` (unless the same definition runs again, as when a
  notebook cell is re-executed: then it replaces the earlier one);
* node and edge methods (``node @ other``, ``edge.svd()``...) call their operation
  through :func:`function`, so the core never imports :mod:`torchtn.ops`: the
  dependency is this table, resolved at call time.

Names of operations (built-in and registered) are reserved: a leaf, data or virtual
node may not be named after one, because resultant nodes take their operation's name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from torchtn.errors import TNKeyError, TNValueError

__all__ = [
    "BUILTIN_OPERATIONS",
    "register_operation",
    "get_operation",
    "operation_names",
    "is_reserved",
    "function",
    "OperationsView",
]

#: Built-in operations: name -> ``module:attribute`` of the Operation object. The first
#: thirteen are TensorKrowch 1.1.6's; ``mps_sweep`` contracts an open MPS end region in
#: one step (:mod:`torchtn.models._sweep`); ``contract_network`` contracts any set of
#: nodes by a planned path (:mod:`torchtn.ops.network_contraction`).
BUILTIN_OPERATIONS: dict[str, str] = {
    "permute": "torchtn.ops.tensor:permute_op",
    "tprod": "torchtn.ops.tensor:tprod_op",
    "mul": "torchtn.ops.tensor:mul_op",
    "div": "torchtn.ops.tensor:div_op",
    "add": "torchtn.ops.tensor:add_op",
    "sub": "torchtn.ops.tensor:sub_op",
    "renormalize": "torchtn.ops.tensor:renormalize_op",
    "conj": "torchtn.ops.tensor:conj_op",
    "split": "torchtn.ops.decomposition:split_op",
    "contract_edges": "torchtn.ops.contraction:contract_edges_op",
    "stack": "torchtn.ops.stacking:stack_op",
    "unbind": "torchtn.ops.stacking:unbind_op",
    "einsum": "torchtn.ops.einsum:einsum_op",
    "mps_sweep": "torchtn.models._sweep:sweep_op",
    "contract_network": "torchtn.ops.network_contraction:contract_network_op",
}

_registered: dict[str, Any] = {}  # user operations
_resolved: dict[str, Any] = {}  # built-in operations, once imported
_functions: dict[str, Any] = {}  # functions of torchtn.ops, once imported


def _resolve(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def register_operation(operation: Any) -> None:
    """Register a user operation under ``operation.name``.

    Raises:
        TypeError: If ``operation.name`` is not a str.
        ValueError: If the name is empty, contains a blank space, or is already the
            name of an operation (built-in or registered).
    """
    name = getattr(operation, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"An operation's name should be str, got {name!r}")
    if not name or " " in name:
        raise TNValueError(f"Operation name {name!r} should be non-empty without blank spaces")
    existing = _registered.get(name)
    if existing is not None and _same_definition(existing, operation):
        _registered[name] = operation  # the same code run again (a notebook cell)
        return
    if name in BUILTIN_OPERATIONS or existing is not None:
        raise TNValueError(
            f"An operation named {name!r} already exists; choose another name "
            f"(taken: {sorted(operation_names())})"
        )
    _registered[name] = operation


def _same_definition(a: Any, b: Any) -> bool:
    """Whether two operations come from the same source definition (re-executed code)."""

    def where(fn: Any) -> tuple:
        return (getattr(fn, "__module__", None), getattr(fn, "__qualname__", None))

    parts = ("check_first", "fn_first", "fn_next")
    return type(a) is type(b) and all(
        where(getattr(a, p, None)) == where(getattr(b, p, None)) != (None, None) for p in parts
    )


def unregister_operation(name: str) -> None:
    """Remove a user operation (built-in operations cannot be removed).

    Raises:
        KeyError: If no user operation has that name.
    """
    if name not in _registered:
        raise TNKeyError(f"No user operation named {name!r} (built-in ones cannot be removed)")
    del _registered[name]


def get_operation(name: str) -> Any:
    """The operation registered under ``name``.

    Raises:
        KeyError: If there is none (the message lists the valid names).
    """
    op = _resolved.get(name)
    if op is not None:
        return op
    spec = BUILTIN_OPERATIONS.get(name)
    if spec is not None:
        op = _resolved[name] = _resolve(spec)
        return op
    op = _registered.get(name)
    if op is None:
        raise TNKeyError(f"No operation named {name!r}; operations are {sorted(operation_names())}")
    return op


def operation_names() -> frozenset[str]:
    """Names of every operation, built-in and registered."""
    return frozenset(BUILTIN_OPERATIONS) | frozenset(_registered)


def is_reserved(base: str) -> bool:
    """Whether a node name with base ``base`` is reserved for operation results."""
    return base in BUILTIN_OPERATIONS or base in _registered


def function(name: str) -> Callable:
    """The function of :mod:`torchtn.ops` a node or edge method delegates to
    (``'contract_between'``, ``'svd'``...), resolved on first use."""
    fn = _functions.get(name)
    if fn is None:
        fn = _functions[name] = _resolve("torchtn.ops:" + name)
    return fn


class OperationsView(Mapping):
    """Read-only mapping name -> operation (``TensorNetwork.operations``)."""

    def __getitem__(self, name: str) -> Any:
        if name not in BUILTIN_OPERATIONS and name not in _registered:
            raise KeyError(name)
        return get_operation(name)

    def __iter__(self) -> Iterator[str]:
        yield from BUILTIN_OPERATIONS
        yield from list(_registered)

    def __len__(self) -> int:
        return len(BUILTIN_OPERATIONS) + len(_registered)

    def __contains__(self, name: object) -> bool:
        return name in BUILTIN_OPERATIONS or name in _registered

    def __repr__(self) -> str:
        return f"OperationsView({sorted(self)})"
