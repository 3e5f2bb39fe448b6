"""Graph passes of the replay, each ``Graph -> Graph`` with the same outputs."""

from torchtn.core.replay.passes.drop_noops import drop_noops
from torchtn.core.replay.passes.fold_permutations import fold_permutations

__all__ = ["fold_permutations", "drop_noops"]
