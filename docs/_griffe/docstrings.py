"""Griffe extensions used by the docs build: torchtn docstrings rendered as Markdown.

``SphinxRoles``: torchtn's docstrings are Google style but cross-reference with Sphinx
roles (``:func:`svd```, ``:class:`~torchtn.ParamNode```). mkdocstrings renders
Markdown, where those roles would show up verbatim. This extension rewrites each role,
once the package is loaded, into an *optional* mkdocs-autorefs reference: a link when
the target is rendered somewhere in the site, plain code otherwise (never a warning, so
``--strict`` stays meaningful for the links written in the pages themselves).

A target is resolved like Sphinx does: a dotted path starting with ``torchtn`` is taken
as is; otherwise its first component is looked up in the docstring owner's scope (its
members, its module's imports, then its parents), and ``torch``/``nn`` names point at
nothing (they render as code).

It also makes a few other reStructuredText habits render: a ``.. math::`` directive
becomes a code block showing the formula (the site loads no math renderer); a module
attribute documented Sphinx-style, by ``#:`` comment lines right above it, gets them as
its docstring; Google ``Args:`` entries that document several parameters on one line
(``*args, **kwargs: ...``) are split into one entry per parameter, which griffe expects.

``PrivateMixinMembers``: see its docstring.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|exc|data|obj|const):`(~?)([^`<>]+)`")
_MATH = re.compile(
    r"^(?P<indent>[ \t]*)\.\. math::[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+.*\n?)+)", re.M
)
_MULTI_PARAM = re.compile(r"^(?P<indent>\s+)(?P<names>\*?\*?\w+(?:, \*?\*?\w+)+):(?P<rest>.*)$")


def _resolve(obj: griffe.Object, target: str) -> str | None:
    """The full path ``target`` names in ``obj``'s scope, or None when unknown."""
    if target.startswith("torchtn"):
        return target
    head, _, tail = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        if scope.is_class and head in scope.all_members:
            path = f"{scope.path}.{head}"
            return f"{path}.{tail}" if tail else path
        try:
            path = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError):
            scope = scope.parent
            continue
        if not path.startswith("torchtn"):
            return None
        return f"{path}.{tail}" if tail else path
    return None


def _rewrite_roles(obj: griffe.Object, text: str) -> str:
    def link(match: re.Match) -> str:
        short, target = match.group(1) == "~", match.group(2).strip()
        target = target.removesuffix("()")
        shown = target.rsplit(".", 1)[-1] if short else target
        path = _resolve(obj, target)
        if path is None:
            return f"`{shown}`"
        return f'<autoref optional identifier="{path}"><code>{shown}</code></autoref>'

    return _ROLE.sub(link, text)


def _math_blocks(text: str) -> str:
    def block(match: re.Match) -> str:
        indent = match["indent"]
        body = textwrap.dedent(match["body"]).strip("\n")
        return f"{indent}```text\n{textwrap.indent(body, indent)}\n{indent}```\n"

    return _MATH.sub(block, text)


def _comment_docstring(attr: griffe.Object) -> None:
    """Use the ``#:`` comment lines above a module attribute as its docstring."""
    module = attr.parent
    if module is None or not module.is_module or attr.lineno is None:
        return
    try:
        lines = module.lines
    except (OSError, AttributeError):
        return
    comment: list[str] = []
    index = attr.lineno - 2  # the line above, 0-based
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        comment.insert(0, lines[index].lstrip()[2:].strip())
        index -= 1
    if comment:
        attr.docstring = griffe.Docstring(
            _rewrite_roles(attr, " ".join(comment)), parent=attr, lineno=attr.lineno
        )


_HELPER_CALL = re.compile(r"^attribute\((?P<args>.*)\)$", re.S)


def _property_helper_docstring(attr: griffe.Object) -> None:
    """``name = attribute("_name", "doc")`` (``torchtn.models._chain_nodes.attribute``,
    a read-only property built by a helper) gets ``doc`` as its docstring."""
    match = _HELPER_CALL.match(str(attr.value or ""))
    if match is None or attr.parent is None or not attr.parent.is_class:
        return
    try:
        args = ast.literal_eval(f"({match['args']},)")
    except (ValueError, SyntaxError):
        return
    if len(args) == 2 and all(isinstance(a, str) for a in args):
        attr.docstring = griffe.Docstring(
            _rewrite_roles(attr, args[1]), parent=attr, lineno=attr.lineno
        )
        attr.labels.add("property")


def _split_multi_params(text: str) -> str:
    lines, out, in_args = text.splitlines(), [], False
    for line in lines:
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:", "Keyword Args:"):
            in_args = True
        elif stripped.endswith(":") and not line.startswith((" ", "\t")):
            in_args = False
        match = _MULTI_PARAM.match(line) if in_args else None
        if match:
            for name in match["names"].split(", "):
                out.append(f"{match['indent']}{name}:{match['rest']}")
        else:
            out.append(line)
    return "\n".join(out)


_REUSED = re.compile(r"^(?P<owner>\w+)\.(?P<name>\w+)$")


def _reused_property_docstring(attr: griffe.Object) -> None:
    """``in_dim = MPSLayer.in_dim`` in a class body (a property reused from another class)
    gets the reused property's docstring."""
    match = _REUSED.match(str(attr.value or ""))
    if match is None or attr.parent is None or not attr.parent.is_class:
        return
    owner = _resolve(attr.parent, match["owner"])
    if owner is None:
        return
    try:
        source = attr.modules_collection.get_member(f"{owner}.{match['name']}")
    except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError):
        return
    if source.docstring is None and source.is_attribute:
        _property_helper_docstring(source)  # the source may not have been visited yet
    if source.docstring is not None:
        attr.docstring = griffe.Docstring(source.docstring.value, parent=attr)
        attr.labels |= source.labels


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles and multi-name ``Args`` entries in every loaded docstring."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Called by griffe for every object once the whole tree is loaded."""
        if obj.docstring is None and obj.is_attribute:
            _comment_docstring(obj)
            _property_helper_docstring(obj)
        if obj.docstring is None:
            return
        text = obj.docstring.value
        if ":`" in text:
            text = _rewrite_roles(obj, text)
        if ".. math::" in text:
            text = _math_blocks(text)
        if ", *" in text or ", " in text:
            text = _split_multi_params(text)
        obj.docstring.value = text


def _is_private(cls: griffe.Class) -> bool:
    return any(part.startswith("_") for part in cls.path.split("."))


class ReusedProperties(griffe.Extension):
    """Docstrings for class attributes that reuse another class's property (run last)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Fill the docstring of every ``name = OtherClass.name`` class attribute."""
        for cls in _classes(pkg):
            for member in list(cls.members.values()):
                if not member.is_alias and member.is_attribute and member.docstring is None:
                    _reused_property_docstring(member)


class PrivateMixinMembers(griffe.Extension):
    """Document members that public classes get from private mixins as their own.

    ``TensorNetwork`` gets ``trace``/``reset`` from ``core._execution.ExecutionMixin``,
    ``MPS`` gets ``canonicalize`` from ``models._chain_analysis``: the reader should find
    them on the public class. Members of public ancestors stay there (the page links the
    bases), so a model's page does not repeat the whole ``TensorNetwork`` API.
    """

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Add aliases to private-mixin members on every public class of ``pkg``."""
        for cls in _classes(pkg):
            if _is_private(cls):
                continue
            try:
                mro = cls.mro()
            except ValueError:
                continue
            for base in mro:
                if not _is_private(base):
                    break
                for name, member in base.members.items():
                    if name.startswith("_") or name in cls.members:
                        continue
                    cls.set_member(name, griffe.Alias(name, member, parent=cls))


def _classes(obj: griffe.Object):
    for member in obj.members.values():
        if member.is_alias:
            continue
        if member.is_class:
            yield member
            yield from _classes(member)
        elif member.is_module:
            yield from _classes(member)
