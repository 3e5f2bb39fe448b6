"""The documentation is executed: every page's code, every docstring example, the API index.

* Each ``docs/**/*.md`` page with ```` ```python ```` blocks is one test: its blocks run in
  order in one namespace (as a reader would paste them), in a temporary working directory.
  A block preceded by the line ``<!-- docs-test: skip REASON -->`` is not run (for code that
  needs a GPU, say); keep that rare. A ```` ```text title="Output" ```` block right after a
  Python block must equal what that block printed.
* Every docstring example (``>>>``) in ``torchtn`` runs as a doctest with ``tk`` and
  ``torch`` in its namespace, next to the module's own globals.
* Every public name (``torchtn.__all__`` and the public submodules) is documented on an
  API page (``docs/api``), and every API directive names an object that exists.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import importlib.util
import io
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import torchtn

DOCS = Path(__file__).resolve().parents[2] / "docs"

_FENCE = re.compile(r"^(?P<indent> *)(?P<ticks>`{3,})(?P<info>[^`\n]*)$")
_SKIP = re.compile(r"^\s*<!-- docs-test: skip (?P<reason>.+?) -->\s*$")


@dataclass
class Block:
    """A fenced code block of a page."""

    lang: str
    info: str
    code: str
    line: int  # 1-based line of the opening fence
    skip: str | None  # reason, when marked to skip


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown page, in order (indented fences included)."""
    lines = text.splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks, info = len(m["indent"]), m["ticks"], m["info"].strip()
        skip = None
        if i > 0 and (s := _SKIP.match(lines[i - 1])):
            skip = s["reason"]
        body, j = [], i + 1
        while j < len(lines) and lines[j].strip() != ticks:
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        if j == len(lines):
            raise AssertionError(f"unclosed code fence at line {i + 1}")
        lang = info.split()[0].lstrip(".{").rstrip("}") if info else ""
        out.append(Block(lang, info, "\n".join(body) + "\n", i + 1, skip))
        i = j + 1
    return out


def _pages_with_code() -> list[Path]:
    return sorted(
        p
        for p in DOCS.rglob("*.md")
        if "_scripts" not in p.parts and any(b.lang == "python" for b in blocks(p.read_text()))
    )


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


@pytest.mark.parametrize(
    "page", _pages_with_code(), ids=lambda p: str(p.relative_to(DOCS)).removesuffix(".md")
)
def test_page_code_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    torch.manual_seed(0)
    page_blocks = blocks(page.read_text())
    threads = torch.get_num_threads()
    try:
        for k, block in enumerate(page_blocks):
            if block.lang != "python" or block.skip is not None:
                continue
            where = f"{page.relative_to(DOCS)}:{block.line}"
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(block.code, where, "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"code block at {where} failed: {exc!r}") from exc
            following = page_blocks[k + 1] if k + 1 < len(page_blocks) else None
            if (
                following is not None
                and following.lang == "text"
                and 'title="Output"' in (following.info)
            ):
                assert _normalise(out.getvalue()) == _normalise(following.code), (
                    f"output of the block at {where} differs from the page"
                )
    finally:
        torch.set_num_threads(threads)


def test_skips_are_rare_and_explained() -> None:
    skipped = [
        (p.relative_to(DOCS), b.line, b.skip)
        for p in DOCS.rglob("*.md")
        for b in blocks(p.read_text())
        if b.lang == "python" and b.skip is not None
    ]
    assert all(reason.strip() for _, _, reason in skipped)
    assert len(skipped) <= 3, skipped


def test_block_parser() -> None:
    text = (
        "intro\n"
        "```python\nx = 1\n```\n"
        '```text title="Output"\n1\n```\n'
        "<!-- docs-test: skip needs a GPU -->\n"
        "```python\nx.cuda()\n```\n"
        "- item\n\n    ```python\n    y = 2\n    ```\n"
    )
    found = blocks(text)
    assert [(b.lang, b.code, b.skip) for b in found] == [
        ("python", "x = 1\n", None),
        ("text", "1\n", None),
        ("python", "x.cuda()\n", "needs a GPU"),
        ("python", "y = 2\n", None),
    ]


# -- docstring examples --------------------------------------------------------------------

_KNOWN_FAILURES: dict[str, str] = {}  # docstring -> reason, for an expected failure


def _doctests() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder()
    tests = []
    for info in pkgutil.walk_packages(torchtn.__path__, "torchtn."):
        if ".examples" in info.name:
            continue
        module = importlib.import_module(info.name)
        globs = dict(vars(module), tk=torchtn, torch=torch)
        tests += [t for t in finder.find(module, info.name, globs=globs) if t.examples]
    return sorted(tests, key=lambda t: t.name)


@pytest.mark.parametrize(
    "test",
    [
        pytest.param(
            t,
            id=t.name,
            marks=[pytest.mark.xfail(strict=True, reason=_KNOWN_FAILURES[t.name])]
            if t.name in _KNOWN_FAILURES
            else [],
        )
        for t in _doctests()
    ],
)
def test_docstring_examples(test: doctest.DocTest) -> None:
    torch.manual_seed(0)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    report = io.StringIO()
    result = runner.run(test, out=report.write, clear_globs=False)
    assert result.failed == 0, report.getvalue()


# -- API reference coverage ----------------------------------------------------------------

_DIRECTIVE = re.compile(r"^::: (?P<path>[\w.]+)\s*$", re.M)


def _api_text() -> str:
    return "\n".join(p.read_text() for p in sorted((DOCS / "api").rglob("*.md")))


def _documented() -> set[str]:
    """Dotted paths rendered by a ``:::`` directive, plus their members for module pages."""
    text = _api_text()
    paths = set(_DIRECTIVE.findall(text))
    for path in list(paths):
        obj = _resolve(path)
        if obj is not None and isinstance(obj, type(torchtn)):
            paths |= {f"{path}.{n}" for n in getattr(obj, "__all__", [])}
    # the Operation singletons are listed in a table on the operations page
    paths |= {f"torchtn.{n}" for n in re.findall(r"^\| `tk\.(\w+_op)` \|", text, re.M)}
    return paths


def _resolve(path: str):
    """The object a dotted path names: the longest importable module prefix, then
    attributes (``torchtn.ops.einsum.einsum`` is the function in the submodule, although
    ``torchtn.ops.einsum`` is the function itself as an attribute)."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj
    return None


def _public_names() -> list[str]:
    """The list the docs build's coverage hook checks (``docs/_hooks/api_coverage.py``)."""
    spec = importlib.util.spec_from_file_location(
        "api_coverage", DOCS / "_hooks" / "api_coverage.py"
    )
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook.public_names()


def test_every_public_name_has_an_api_entry() -> None:
    documented = _documented()
    # a name counts as documented under any public path it is reachable by
    missing = []
    for name in _public_names():
        obj = _resolve(name)
        short = name.rsplit(".", 1)[-1]
        if name in documented:
            continue
        if any(p.rsplit(".", 1)[-1] == short and _resolve(p) is obj for p in documented):
            continue
        missing.append(name)
    assert not missing, f"public names without an API entry: {missing}"


def test_api_directives_name_existing_objects() -> None:
    unknown = [p for p in _DIRECTIVE.findall(_api_text()) if _resolve(p) is None]
    assert not unknown, unknown


# -- examples gallery and images ------------------------------------------------------------


def test_every_example_is_in_the_gallery() -> None:
    """A new example needs a section in docs/examples.md with its command and image
    (``.venv/bin/python docs/_scripts/gallery.py NAME`` draws the image)."""
    import torchtn.examples as pkg

    gallery = (DOCS / "examples.md").read_text()
    names = [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    assert names
    missing = [
        n
        for n in names
        if f"python -m torchtn.examples.{n}" not in gallery
        or f"images/example_{n}.png" not in gallery
        or not (DOCS / "images" / f"example_{n}.png").is_file()
    ]
    assert not missing, f"examples without a gallery section and image: {missing}"


def test_images_stay_small() -> None:
    total = sum(p.stat().st_size for p in (DOCS / "images").rglob("*") if p.is_file())
    assert total < 2 * 2**20, f"docs/images holds {total / 2**20:.2f} MiB (limit 2 MiB)"
