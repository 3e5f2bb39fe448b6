"""MkDocs hook: after the build, every public name must have an anchor in the API pages.

:func:`public_names` is the list of public names (``tests/docs`` imports it and checks
that each is named by a ``:::`` directive); this hook checks
that the rendered site really documents it (griffe found it, it has a docstring, no
filter hid it). A missing name is logged as a warning, which ``--strict`` turns into an
error. The ``*_op`` Operation objects are listed in a table instead (no anchor).
"""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.plugins.torchtn_api_coverage")

_SUBMODULES = [
    "embeddings",
    "decompositions",
    "initializers",
    "utils",
    "errors",
    "linalg",
    "planning",
    "typing",
    "train",
    "viz",
]


def public_names(operations: bool = True) -> list[str]:
    """Dotted paths of every public name: ``torchtn.__all__`` (the ``*_op`` Operation
    objects only with ``operations``), the ``__all__`` of the public submodules and the
    classes of ``torchtn.models``."""
    torchtn = importlib.import_module("torchtn")
    module = type(torchtn)
    names = [
        f"torchtn.{n}"
        for n in torchtn.__all__
        if not isinstance(getattr(torchtn, n), module) and (operations or not n.endswith("_op"))
    ]
    for sub in _SUBMODULES:
        mod = importlib.import_module(f"torchtn.{sub}")
        names += [
            f"torchtn.{sub}.{n}" for n in mod.__all__ if not isinstance(getattr(mod, n), module)
        ]
    models = importlib.import_module("torchtn.models")
    names += [
        f"torchtn.models.{n}"
        for n in dir(models)
        if not n.startswith("_") and isinstance(getattr(models, n), type)
    ]
    return names


def _resolve(path: str) -> Any:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _documented(name: str, anchors: set[str]) -> bool:
    """Rendered under this path or, for a re-export, under another path of the same object
    (``tk.randn`` is documented as ``torchtn.initializers.randn``)."""
    if name in anchors:
        return True
    short, obj = name.rsplit(".", 1)[-1], _resolve(name)
    return any(a.rsplit(".", 1)[-1] == short and _resolve(a) is obj for a in anchors)


def on_post_build(config: Any, **kwargs: Any) -> None:
    site = Path(config["site_dir"]) / "api"
    anchors: set[str] = set()
    for page in site.rglob("*.html"):
        anchors |= set(re.findall(r'id="(torchtn\.[\w.]+)"', page.read_text()))
    missing = [name for name in public_names(operations=False) if not _documented(name, anchors)]
    if missing:
        log.warning("API reference: public names without a rendered entry: %s", missing)
