"""No Python callbacks inside Polars on the app path.

``map_elements`` / ``map_batches`` run Python under the GIL on Polars' worker threads; with
``to_pandas()`` holding the GIL in another session's thread, a server froze at 0 % CPU
(issue 16). This test reads the source, so it fails the moment one comes back.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALLBACKS = {"map_elements", "map_batches", "map_rows", "map_groups", "apply"}


def _callback_calls(source: str, label: str) -> list[str]:
    return [
        f"{label}:{node.lineno} {node.func.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CALLBACKS
    ]


def test_no_polars_callbacks_in_the_engine_or_the_app():
    files = sorted([*(ROOT / "analytics").rglob("*.py"), *(ROOT / "dashboard").rglob("*.py")])
    assert len(files) > 20  # the walk found the code
    found = [
        hit
        for f in files
        for hit in _callback_calls(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))
    ]
    assert found == []


def test_the_check_sees_a_callback():
    # The same walk on a snippet that has one: the test above could fail.
    snippet = 'df = df.with_columns(pl.col("x").map_elements(str))\n'
    assert _callback_calls(snippet, "probe.py") == ["probe.py:1 map_elements"]
