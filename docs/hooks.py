"""MkDocs hook: render ```python test``` / ```python test-async``` fences as Python.

Python-Markdown's fenced_code only accepts a bare language name in the info string; the
extra word marks the examples that ``tests/test_docs.py`` runs, so it is dropped here.
"""

from __future__ import annotations

import re
from typing import Any

_TESTED_FENCE = re.compile(
    r"^(?P<open>[ \t]*(?:`{3,}|~{3,})[ \t]*python)[ \t]+test(?:-async)?[ \t]*$", re.MULTILINE
)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Turn the test markers into plain ``python`` fences before rendering."""
    return _TESTED_FENCE.sub(r"\g<open>", markdown)
