"""What every benchmark script does at the end: print its markdown table and save it with the raw numbers.
``markdown_table`` is the package's (``rlteach.lab.tables``), which the notebooks use too."""

from __future__ import annotations

import json
from pathlib import Path

from rlteach.lab.tables import markdown_table

__all__ = ["markdown_table", "write_report"]


def write_report(out, name, table, data):
    """Print ``table`` and write it to ``out/name.md``, and ``data`` to ``out/name.json``."""
    print("\n" + table)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(table + "\n")
    (out / f"{name}.json").write_text(json.dumps(data, indent=1))
