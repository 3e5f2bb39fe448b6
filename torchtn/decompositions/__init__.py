"""Decompositions of dense tensors and functions into tensor trains (``tk.decompositions``).

* :func:`vec_to_mps` / :func:`mat_to_mpo`: TT-SVD of a (batched) tensor or an operator
  (module :mod:`~torchtn.decompositions.svd_decompositions`).
* :func:`tt_rss`: tensor train of a function learned from samples (module
  :mod:`~torchtn.decompositions.tt_decompositions`, which also holds its helpers).
"""

from torchtn.decompositions import svd_decompositions, tt_decompositions
from torchtn.decompositions.svd_decompositions import mat_to_mpo, vec_to_mps
from torchtn.decompositions.tt_decompositions import tt_rss

__all__ = [
    "svd_decompositions",
    "tt_decompositions",
    "vec_to_mps",
    "mat_to_mpo",
    "tt_rss",
]
