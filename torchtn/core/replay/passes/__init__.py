"""Graph passes of the replay, each ``Graph -> Graph`` with the same outputs."""

from torchtn.core.replay.passes.drop_noops import drop_noops
from torchtn.core.replay.passes.fold_permutations import fold_permutations
from torchtn.core.replay.passes.unbind_views import unbind_views

__all__ = ["fold_permutations", "drop_noops", "unbind_views"]
