"""`ReplayProgram`: a lowered, optimised recording as an ``fx.GraphModule``.

The graph module is the artifact a reader inspects (``program.code``); it is *run* with
the network as ``self``, so ``get_attr`` reads the network's parameters at call time
(``torch.func.functional_call``, ``load_state_dict(assign=True)``, parameter swaps).
With ``compile_kwargs`` the call goes through ``torch.compile``.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import fx

from torchtn.core.replay.lower import Lowered, lower
from torchtn.core.replay.passes import drop_noops, fold_permutations, unbind_views

TensorNetwork = Any  # duck-typed: the replay does not import the network module

__all__ = ["ReplayProgram", "build_graph"]


def build_graph(net: TensorNetwork, full: bool, optimize: bool = True) -> Lowered:
    """Lower ``net``'s recording and run the passes (``optimize=False``: lowering only)."""
    low = lower(net, full)
    if optimize:
        low.graph = unbind_views(drop_noops(fold_permutations(low.graph)))
    low.graph.lint()
    return low


class ReplayProgram:
    """The replay of one recording version, in one mode.

    Args:
        net: The network (its recording is lowered now).
        full: Return every resultant for write-back (untraced replays).
        compile_kwargs: If not None, calls go through ``torch.compile(**compile_kwargs)``.

    Attributes:
        module: The ``fx.GraphModule``.
        lowered: What the caller needs around the graph (:class:`Lowered`).
        version: The recording version it was built from.
    """

    def __init__(
        self, net: TensorNetwork, full: bool, compile_kwargs: dict[str, Any] | None = None
    ) -> None:
        self.lowered = build_graph(net, full)
        root = {name: net._parameters[name] for name in self.lowered.params}
        self.module = fx.GraphModule(root, self.lowered.graph, class_name="Replay")
        self.version = net._recording.version
        self.full = full
        fn = functools.partial(type(self.module).forward, net)
        self._run = fn if compile_kwargs is None else torch.compile(fn, **compile_kwargs)
        self.compiled = compile_kwargs is not None

    @property
    def code(self) -> str:
        """The generated Python code of the replay."""
        return self.module.code

    def __call__(self, *inputs: torch.Tensor) -> tuple:
        return self._run(*inputs)
