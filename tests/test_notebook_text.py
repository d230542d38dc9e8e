"""What every committed notebook's text must hold: it ends with its references, and no exercise cell shows
more than its checker's one line (a stray ``True``/``False`` under the message was a checker's return value)."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
LINK = re.compile(r"https?://\S+")


def cells(notebook):
    return json.loads(notebook.read_text())["cells"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_ends_with_its_references(notebook):
    last = cells(notebook)[-1]
    text = "".join(last["source"])
    assert last["cell_type"] == "markdown" and text.startswith("## References"), \
        f"{notebook.name}: the last cell is not a '## References' markdown cell"
    links = LINK.findall(text)
    assert len(links) >= 3, f"{notebook.name}: References has {len(links)} links; list the papers and tools it uses"
    assert not [u for u in links if "arxiv.org" in u and not re.search(r"arxiv\.org/abs/\d{4}\.\d{4,5}", u)], \
        f"{notebook.name}: an arXiv link that is not of the form https://arxiv.org/abs/NNNN.NNNNN"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_an_exercise_cell_shows_only_what_its_checker_prints(notebook):
    for cell in cells(notebook):
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and re.search(r"exercises\.check_\w+\(", source):
            shown = [o for o in cell.get("outputs", []) if o["output_type"] == "execute_result"]
            assert not shown, f"{notebook.name} cell {cell.get('id')}: shows {shown[0]['data']} under its message"
