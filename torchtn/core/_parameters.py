"""Parameter identity of `TensorNetwork`: what optimizers and DDP hold stays trained.

Optimizers and ``DistributedDataParallel`` hold Parameter objects. The network keeps them
where it can: a re-stacked member set reuses its stack Parameter, a member that owns its
tensor again gets its own Parameter back, ``canonicalize`` copies into parameters whose
shape is unchanged, and a parameter replaced through the module (``setattr``,
``load_state_dict(assign=True)``) becomes its node's memory. Where it cannot (auto_stack
folding several parameters into one, a truncation) it warns once, with what to do, and
:meth:`ParametersMixin.rebind_optimizer` points an optimizer at the new parameters.
"""

from __future__ import annotations

import warnings
import weakref
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from torchtn._utils import user_stacklevel
from torchtn.errors import TNValueError

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.node import AbstractNode

__all__ = ["ParametersMixin"]


class ParametersMixin:
    """Parameter bookkeeping of :class:`~torchtn.TensorNetwork` (mixed into it)."""

    def named_parameters(self, *args: Any, **kwargs: Any) -> Any:
        # Whoever asks for the parameters (an optimizer, DDP) may hold them from now on.
        self.__dict__["_parameters_handed_out"] = True
        return super().named_parameters(*args, **kwargs)

    def zero_grad(self, set_to_none: bool = True) -> None:
        # The network clearing its own gradients hands nothing out.
        handed_out = self._parameters_handed_out
        super().zero_grad(set_to_none)
        self.__dict__["_parameters_handed_out"] = handed_out

    def _folded_parameters(self, nodes: list, stack: AbstractNode) -> None:
        """Record that ``stack`` (an auto-stack ParamStackNode) holds ``nodes``' parameters.

        Stacking the same nodes again (after ``reset()``, e.g. another ``trace()``) reuses
        the same Parameter object, and each member keeps its own Parameter object for when
        it owns its tensor again.

        Raises:
            ValueError: In a distributed program, if the members' parameters were handed
                out before (DistributedDataParallel would keep reducing the old ones).
        """
        key = tuple(map(id, nodes))
        param = stack.tensor
        previous = self._stacks.get(key)
        if previous is not None:
            old = previous[1]
            if (old.shape, old.dtype, old.device) == (param.shape, param.dtype, param.device):
                with torch.no_grad():
                    old.copy_(param)
                stack._unrestricted_set_tensor(old)
                param = old
        self._stacks[key] = (tuple(nodes), param)
        replaced = {}
        for node in nodes:
            own = self._parameters.get("param_" + node._name)
            if own is not None:
                node._own_param = own
                replaced["param_" + node._name] = own
        if previous is None and replaced:
            self._parameters_replaced(replaced, "auto_stack", stack._name)

    def _parameters_replaced(self, replaced: dict, reason: str, by: str | None = None) -> None:
        """Remember replaced parameters: :meth:`rebind_optimizer` maps them to their
        successors, and an optimizer that steps one of them warns (see
        :func:`_check_optimizer`). In a distributed program, folding parameters that were
        handed out raises: DistributedDataParallel would keep reducing the old ones."""
        for key, param in replaced.items():
            self._former_keys[id(param)] = (weakref.ref(param), key)
        _note_replaced(self, replaced, reason)
        dist = torch.distributed
        if (
            reason == "auto_stack"
            and self._parameters_handed_out
            and dist.is_available()
            and dist.is_initialized()
        ):
            names = ", ".join(list(replaced)[:3]) + (", ..." if len(replaced) > 3 else "")
            raise TNValueError(
                f"Network {self.name!r}: auto_stack would stack {len(replaced)} parameters "
                f"({names}) into 'param_{by}' after they were handed out. In a distributed "
                "program trace() the network before wrapping it in DistributedDataParallel "
                "and before creating the optimizer."
            )

    def _keep_parameter_identity(self, before: dict, reason: str) -> None:
        """After a rebuild: keep the Parameter objects of ``before`` (key -> Parameter)
        whose key and shape survive (their data is copied in); report the others."""
        replaced = {}
        for key, old in before.items():
            new = self._parameters.get(key)
            if new is old:
                continue
            node = self._all_nodes.get(key[6:])
            if (
                new is not None
                and node is not None
                and (old.shape, old.dtype, old.device) == (new.shape, new.dtype, new.device)
            ):
                with torch.no_grad():
                    old.copy_(new)
                old.requires_grad_(new.requires_grad)
                node._unrestricted_set_tensor(old)
            else:
                replaced[key] = old
        if replaced:
            self._parameters_replaced(replaced, reason)

    def rebind_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Point ``optimizer`` at the network's current parameters.

        Use it after ``trace()`` or ``canonicalize()`` replaced parameters that the
        optimizer holds (a warning says when). A parameter replaced by one of the same
        name and shape takes over its optimizer state; replaced parameters of another
        shape (truncated bonds, auto-stacked nodes) are removed with their state, and
        parameters the optimizer does not know are added to its first param group with
        fresh state.
        """
        current = dict(super().named_parameters())
        by_id = {id(p): p for p in current.values()}
        placed: set[int] = set()
        for group in optimizer.param_groups:
            params = []
            for p in group["params"]:
                if id(p) in by_id:
                    new = p
                else:
                    entry = self._former_keys.get(id(p))
                    key = entry[1] if entry is not None and entry[0]() is p else None
                    new = current.get(key) if key is not None else None
                    state = optimizer.state.pop(p, None)
                    if new is None or new.shape != p.shape or id(new) in placed:
                        continue
                    if state is not None:
                        optimizer.state[new] = state
                if id(new) not in placed:
                    placed.add(id(new))
                    params.append(new)
            group["params"] = params
        missing = [p for p in current.values() if id(p) not in placed]
        if missing:
            optimizer.param_groups[0]["params"].extend(missing)

    def register_parameter(self, name: str, param: nn.Parameter | None) -> None:
        # Keep a ParamNode's memory slot on its parameter when it is replaced through
        # the module (``setattr``, ``load_state_dict(..., assign=True)``).
        super().register_parameter(name, param)
        memory = self.__dict__.get("_memory_nodes")
        if memory is not None and name.startswith("param_") and name[6:] in memory:
            memory[name[6:]] = param
            self._notify_memory_change()


# -- optimizers stepping replaced parameters -------------------------------------------------
# id(parameter) -> (weak parameter, weak network, key): parameters a network replaced. One
# optimizer step pre-hook (installed at the first replacement) warns, once per optimizer
# and replacement, when an optimizer steps a parameter its network no longer uses.
_stale: dict[int, tuple] = {}
_epoch = [0]
_hook: list = []


def _note_replaced(net: Any, replaced: dict, reason: str) -> None:
    for key, param in replaced.items():
        _stale[id(param)] = (weakref.ref(param), weakref.ref(net), key, reason)
    _epoch[0] += 1
    if not _hook:
        _hook.append(register_optimizer_step_pre_hook(_check_optimizer))


def _check_optimizer(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
    if getattr(optimizer, "_torchtn_checked", None) == _epoch[0]:
        return
    optimizer._torchtn_checked = _epoch[0]
    found: dict[str, list] = {}
    reasons: set[str] = set()
    for group in optimizer.param_groups:
        for param in group["params"]:
            entry = _stale.get(id(param))
            if entry is None or entry[0]() is not param:
                continue
            net = entry[1]()
            if net is not None and net._parameters.get(entry[2]) is not param:
                found.setdefault(net.name, []).append(entry[2])
                reasons.add(entry[3])
    if not found:
        return
    name, keys = next(iter(found.items()))
    listed = ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")
    how = " and ".join(
        sorted(
            {
                "auto_stack (at the first forward or trace())" if r == "auto_stack" else r
                for r in reasons
            }
        )
    )
    warnings.warn(
        f"This optimizer steps {sum(map(len, found.values()))} parameters that network "
        f"{name!r} replaced ({listed}) by {how}: they are no longer trained. Create the "
        "optimizer after trace()/canonicalize(), or call net.rebind_optimizer(optimizer).",
        stacklevel=user_stacklevel(),
    )
