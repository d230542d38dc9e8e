"""What every benchmark script does at the end: print its markdown table and save it with the raw numbers."""

from __future__ import annotations

import json
from pathlib import Path


def markdown_table(header, rows) -> str:
    """A markdown table: ``header`` holds the column titles, each of ``rows`` the cells of one row, as strings."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write_report(out, name, table, data):
    """Print ``table`` and write it to ``out/name.md``, and ``data`` to ``out/name.json``."""
    print("\n" + table)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(table + "\n")
    (out / f"{name}.json").write_text(json.dumps(data, indent=1))
