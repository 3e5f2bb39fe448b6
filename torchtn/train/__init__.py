"""Training algorithms beyond plain gradient descent (``tk.train``)."""

from torchtn.train.dmrg import DMRG, DMRGError

__all__ = ["DMRG", "DMRGError"]
