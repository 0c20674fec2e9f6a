"""The documentation's examples run: every ```python test``` block of README.md and docs/*.md.

Blocks whose info string is ``python test`` run as they are; blocks marked
``python test-async`` run as the body of ``async def _snippet(): ...`` under
``asyncio.run`` (their names stay visible to the blocks after them). The blocks of one file
run in order and share one namespace, which starts with:

- ``Book`` and ``BookSchema`` from ``tests/models.py`` (the ``books/`` endpoint);
- ``API_URL``: the base URL of the test upstream API (``http://127.0.0.1:<port>/api/``).

The upstream holds the 25 seed books (ids 1-25) when each file starts. Plain ``python``
blocks are not run.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from django_api_orm import options as api_models
from tests.models import Book, BookSchema
from tests.upstream_fixture import Upstream

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if p.exists()]
MARKERS = {"test": False, "test-async": True}

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$")


@dataclass(frozen=True)
class Snippet:
    """One runnable block: where it starts (the line after the fence) and its code."""

    path: Path
    line: int
    info: str
    code: str

    @property
    def is_async(self) -> bool:
        return MARKERS[self.info.split()[1]]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def fenced_blocks(path: Path) -> Iterator[Snippet]:
    """Every fenced code block of ``path`` (CommonMark fences, indented ones too)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _OPEN.match(lines[index])
        index += 1
        if opening is None:
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        start = index + 1  # 1-based number of the block's first line
        while index < len(lines) and not closing.match(lines[index]):
            body.append(lines[index])
            index += 1
        index += 1  # the closing fence
        code = textwrap.dedent("\n".join(body)) if indent else "\n".join(body)
        yield Snippet(path, start, info, code + "\n")


def snippets(path: Path) -> list[Snippet]:
    """The blocks of ``path`` marked to run."""
    return [
        block
        for block in fenced_blocks(path)
        if block.info.split()[:1] == ["python"] and len(block.info.split()) > 1
    ]


def _compile(snippet: Snippet) -> Any:
    if snippet.is_async:
        body = textwrap.indent(snippet.code, "    ")
        source = (
            "async def _snippet():\n"
            f"{body}"
            "    globals().update({k: v for k, v in locals().items() if not k.startswith('_')})\n"
        )
        padding = snippet.line - 2  # the def line sits just above the block's first line
    else:
        source, padding = snippet.code, snippet.line - 1
    # Padding keeps line numbers in tracebacks equal to the Markdown file's own; the
    # block is compiled as a reader's module would be, without this file's __future__
    # imports (postponed annotations would leave a schema's Literal[...] unresolved).
    return compile("\n" * padding + source, str(snippet.path), "exec", dont_inherit=True)


def run_snippet(snippet: Snippet, namespace: dict[str, Any]) -> None:
    """Run one block in ``namespace``; a failure names the file and line of the block."""
    code = _compile(snippet)
    try:
        exec(code, namespace)
        if snippet.is_async:
            asyncio.run(namespace.pop("_snippet")())
    except Exception as error:
        raise AssertionError(
            f"{snippet.where}: the documented example failed with "
            f"{type(error).__name__}: {error}\n\n{snippet.code}"
        ) from error


FILES_WITH_SNIPPETS = [path for path in DOC_FILES if snippets(path)]


@pytest.fixture
def isolated_models() -> Iterator[None]:
    """Models and client registrations made by examples do not outlive the file."""
    before = list(api_models._ALL_MODELS)
    bound = {model: model._meta.bound_service for model in before}
    reverse = {model: dict(model._meta.reverse_relations) for model in before}
    try:
        yield
    finally:
        api_models._ALL_MODELS[:] = before
        for model, service in bound.items():
            model._meta.bound_service = service
        for model, accessors in reverse.items():  # relations declared by examples
            for name in set(model._meta.reverse_relations) - set(accessors):
                delattr(model, name)
            model._meta.reverse_relations = accessors


@pytest.mark.parametrize(
    "path", FILES_WITH_SNIPPETS, ids=[str(p.relative_to(ROOT)) for p in FILES_WITH_SNIPPETS]
)
def test_documented_examples_run(path: Path, upstream: Upstream, isolated_models: None) -> None:
    from tests.localapp.models import Order  # a Django model: imported once settings are

    namespace: dict[str, Any] = {
        "__name__": "tests.docs_examples",  # a module of an installed app, as a reader's
        "Book": Book,
        "BookSchema": BookSchema,
        "Order": Order,  # a local Django model with a RemoteForeignKey (docs/admin.md)
        "API_URL": f"{upstream.url}/api/",
    }
    for snippet in snippets(path):
        run_snippet(snippet, namespace)


def test_markers_are_spelled_right() -> None:
    """A typo such as ``python tests`` would silently stop a block from running."""
    for path in DOC_FILES:
        for block in fenced_blocks(path):
            words = block.info.split()
            if words[:1] == ["python"] and len(words) > 1:
                assert len(words) == 2 and words[1] in MARKERS, f"{block.where}: {block.info!r}"


def test_docs_have_runnable_examples() -> None:
    """Extraction works: the README and the main pages carry examples that run."""
    names = {path.name for path in FILES_WITH_SNIPPETS}
    assert {"README.md", "quickstart.md", "querysets.md", "async.md"} <= names
    blocks = [block for path in FILES_WITH_SNIPPETS for block in snippets(path)]
    assert any(block.is_async for block in blocks)


def test_extraction_of_indented_and_async_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n"
        "```python test\nx = 1\n```\n\n"
        "1. A step:\n\n"
        "    ```python test-async\n    y = x + 1\n    ```\n\n"
        "```python\nnot_run = True\n```\n",
        encoding="utf-8",
    )
    found = snippets(page)
    assert [(s.line, s.is_async, s.code) for s in found] == [
        (4, False, "x = 1\n"),
        (10, True, "y = x + 1\n"),
    ]
    namespace: dict[str, Any] = {}
    for snippet in found:
        run_snippet(snippet, namespace)
    assert namespace["y"] == 2
    assert "not_run" not in namespace


def test_readme_links_every_page() -> None:
    """The README's documentation list names every page of docs/ (the site's home aside)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = {p.name for p in (ROOT / "docs").glob("*.md")} - {"index.md"}
    missing = sorted(page for page in pages if f"(docs/{page})" not in readme)
    assert not missing, f"README.md does not link {missing}"
