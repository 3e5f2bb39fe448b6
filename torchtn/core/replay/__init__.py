"""The replay of a network's recording as a ``torch.fx`` graph.

:mod:`~torchtn.core.replay.lower` turns the recording into a graph with eager
semantics; :mod:`~torchtn.core.replay.passes` optimise it (one pass a file, each
``Graph -> Graph`` with the same outputs); :mod:`~torchtn.core.replay.program` wraps the
result in an ``fx.GraphModule`` run with the network as ``self``.
"""

from torchtn.core.replay.lower import Lowered, lower
from torchtn.core.replay.program import ReplayProgram, build_graph

__all__ = ["Lowered", "lower", "ReplayProgram", "build_graph"]
