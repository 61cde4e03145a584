"""Every ```python block of the pages in ``PAGES`` runs, and prints what the page says.

Each block on those pages is a whole program. When it is followed by a line ``Output:`` and a
```text block, what the program prints must be exactly that text. Each block
runs in a fresh namespace inside an empty temporary directory, so examples may
create ``app.db`` and the like.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = [
    "index.md",
    "quickstart.md",
    "counter.md",
    "map.md",
    "set.md",
    "queue.md",
    "lock.md",
    "semaphore.md",
    "barrier.md",
    "entities.md",
    "persistence.md",
]
"""Pages whose python blocks are complete programs (add a page here to have it checked)."""
BLOCK = re.compile(
    r"```python\n(?P<code>.*?)^```\n(?:\s*Output:\s*\n```text\n(?P<output>.*?)^```)?", re.S | re.M
)


def examples() -> list[Any]:
    found = []
    for name in PAGES:
        page = DOCS / name
        if not page.exists():
            continue
        for number, match in enumerate(BLOCK.finditer(page.read_text(encoding="utf-8")), start=1):
            found.append(pytest.param(name, match["code"], match["output"], id=f"{page.stem}-{number}"))
    return found


def test_the_docs_have_examples() -> None:
    assert len(examples()) >= 10


@pytest.mark.parametrize(("page", "code", "expected"), examples())
def test_docs_example(
    page: str,
    code: str,
    expected: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("docs_example")  # a real module, as when the block is saved and run
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, f"docs/{page}", "exec", dont_inherit=True), module.__dict__)
    printed = capsys.readouterr().out
    if expected is not None:
        assert printed == expected
