"""Checkpoints of `TensorNetwork`: a state_dict loads whatever mode it was saved in.

``auto_stack`` changes the parameter keys: untraced, every ParamNode has ``param_<name>``;
after a forward its stacked nodes are one ``param_virtual_result_stack[_k]``. A
checkpoint saved in one mode therefore does not match a model in the other. Loading
translates it:

1. a stacked key the model does not hold as such is cut back into its members' keys.
   Its members come from the checkpoint's metadata (torchtn writes them,
   ``torchtn_stacks``), or, for a TensorKrowch 1.1.6 checkpoint, from the stacks
   TensorKrowch's own ``trace()`` makes for this model (``_tk_stack_layout``);
2. a ParamNode whose saved tensor has other sizes (a model truncated by
   ``canonicalize``) is resized first, edge by edge, so a checkpoint rebuilds the model
   without its bond list being typed again (models update their size attributes in
   ``_sizes_changed``);
3. members' keys are stacked into the model's current stacked keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # pragma: no cover
    from torchtn.core.node import AbstractNode

__all__ = ["CheckpointMixin"]

_STACK = "param_virtual_result_stack"


def _tk_key(k: int, n: int) -> str:
    """TensorKrowch's parameter key of the k-th of n auto-stacks made by one trace."""
    return _STACK if n == 1 else f"{_STACK}_{k}"


def _front_slices(max_shape: Any, shape: Any) -> tuple:
    return tuple(slice(m - d, m) for m, d in zip(max_shape, shape, strict=True))


class CheckpointMixin:
    """``state_dict`` save/load translation of :class:`~torchtn.TensorNetwork`."""

    def _tk_stack_layout(self) -> list[list[AbstractNode]]:
        """The node groups TensorKrowch 1.1.6's ``trace()`` of this model auto-stacks, in
        order (their keys: ``param_virtual_result_stack`` if one, else ``..._0``...).
        Models override it; a plain network makes the same stacks in both libraries."""
        return []

    def _current_stacks(self) -> dict[str, list[AbstractNode]]:
        """``param_<stack>`` -> members, for the auto-stack ParamStackNodes now held."""
        out = {}
        for name, node in self._virtual_nodes.items():
            if name.startswith("virtual_result_stack") and node._is_param_node:
                members = getattr(node, "nodes", None)
                if members is not None and ("param_" + name) in self._parameters:
                    out["param_" + name] = list(members)
        return out

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        stacks = self._current_stacks()
        metadata = getattr(destination, "_metadata", None)
        if stacks and metadata is not None:
            metadata.setdefault(prefix[:-1], {})["torchtn_stacks"] = {
                key: [("param_" + m._name, tuple(m._shape)) for m in members]
                for key, members in stacks.items()
            }

    def _load_from_state_dict(
        self,
        state_dict: dict,
        prefix: str,
        local_metadata: dict,
        strict: bool,
        missing_keys: list,
        unexpected_keys: list,
        error_msgs: list,
    ) -> None:
        self._translate_checkpoint(state_dict, prefix, local_metadata or {}, error_msgs)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def _translate_checkpoint(
        self, state_dict: dict, prefix: str, metadata: dict, error_msgs: list
    ) -> None:
        n = len(prefix)
        incoming = [
            k[n:]
            for k in state_dict
            if k.startswith(prefix) and k[n:].startswith("param_") and "." not in k[n:]
        ]
        params = self._parameters
        if set(incoming) == set(params) and all(
            state_dict[prefix + k].shape == params[k].shape for k in incoming
        ):
            return  # the common case: saved in this mode, same sizes
        saved = metadata.get("torchtn_stacks", {})
        layout = self._tk_stack_layout()
        tk_members = {
            _tk_key(k, len(layout)): [("param_" + m._name, tuple(m._shape)) for m in group]
            for k, group in enumerate(layout)
        }
        current = self._current_stacks()
        # 1. Stacked keys the model does not hold as such: back to their members' keys.
        for key in incoming:
            if not key.startswith(_STACK):
                continue
            value = state_dict[prefix + key]
            members = saved.get(key) or tk_members.get(key)
            mine = current.get(key)
            if mine is not None and params[key].shape == value.shape:
                if members is None or [m for m, _ in members] == ["param_" + m._name for m in mine]:
                    continue  # the same stack
            if members is None:
                error_msgs.append(
                    f"stacked parameter {prefix + key!r} of the checkpoint: its member nodes "
                    "are unknown (no torchtn metadata, and this model has no such stack); "
                    "trace the model the way it was traced when saved, then load"
                )
                continue
            if len(members) != value.shape[0]:
                error_msgs.append(
                    f"stacked parameter {prefix + key!r} holds {value.shape[0]} nodes, "
                    f"expected {len(members)} ({[m for m, _ in members]})"
                )
                continue
            del state_dict[prefix + key]
            for i, (member, shape) in enumerate(members):
                state_dict[prefix + member] = value[i][_front_slices(value.shape[1:], shape)]
        # 2. Saved sizes that differ (a truncated model): resize the nodes' edges.
        resized = []
        for k in list(state_dict):
            if not k.startswith(prefix) or "." in k[n:] or not k[n:].startswith("param_"):
                continue
            node = self._all_nodes.get(k[n + 6 :])
            value = state_dict[k]
            if node is None or not node._is_param_node or not isinstance(value, torch.Tensor):
                continue
            if value.dim() == node.rank and value.shape != node._shape:
                resized.append((node, value.shape))
        if resized:
            if self._resultant_nodes:
                self.reset()
            for node, shape in resized:
                for i, size in enumerate(shape):
                    if node._shape[i] != size and not node._axes[i]._batch:
                        node._edges[i].change_size(int(size))
            hook = getattr(self, "_sizes_changed", None)
            if hook is not None:
                hook()
            current = self._current_stacks()
        # 3. Members' keys into the model's current stacks.
        for key, members in current.items():
            names = [prefix + "param_" + m._name for m in members]
            if prefix + key in state_dict or not all(m in state_dict for m in names):
                continue
            tensors = [state_dict.pop(m) for m in names]
            state_dict[prefix + key] = _stack_front_padded(tensors)


def _stack_front_padded(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Stack tensors of one rank, zero-padding each at the front up to the largest sizes
    (the layout of an auto-stack of nodes of unequal shapes)."""
    shapes = [t.shape for t in tensors]
    if all(s == shapes[0] for s in shapes):
        return torch.stack(tensors)
    max_shape = [max(d) for d in zip(*shapes, strict=True)]
    out = tensors[0].new_zeros([len(tensors), *max_shape])
    for i, t in enumerate(tensors):
        out[(i, *_front_slices(max_shape, t.shape))] = t
    return out
