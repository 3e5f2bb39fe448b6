"""The torchtn exception family.

Every error torchtn raises on bad input derives from :class:`TNError` *and* from the
builtin exception TensorKrowch raised in the same situation, so ``except ValueError``
in user code keeps working while ``except tk.TNError`` catches everything of ours.
"""

from __future__ import annotations

__all__ = ["TNError", "TNTypeError", "TNValueError", "TNIndexError", "TNKeyError"]


class TNError(Exception):
    """Base class of every torchtn error."""


class TNTypeError(TNError, TypeError):
    """An argument of the wrong type."""


class TNValueError(TNError, ValueError):
    """An argument of the right type but a wrong value (size, name, state)."""


class TNIndexError(TNError, IndexError):
    """An axis or position that does not exist."""


class TNKeyError(TNError, KeyError):
    """A node name that is not in the network."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""
