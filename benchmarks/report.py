"""What every benchmark script does at the end: print its markdown table and save it with the raw numbers."""

from __future__ import annotations

import json
from pathlib import Path


def write_report(out, name, table, data):
    """Print ``table`` and write it to ``out/name.md``, and ``data`` to ``out/name.json``."""
    print("\n" + table)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(table + "\n")
    (out / f"{name}.json").write_text(json.dumps(data, indent=1))
