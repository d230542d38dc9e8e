"""What every committed notebook's text must hold: it ends with its references, no exercise cell shows more than
its checker's one line (a stray ``True``/``False`` under the message was a checker's return value), and a reader
without a kernel (GitHub, nbviewer, a PDF) sees what the prose describes: no terminal colour codes, each
explorer's figure as a PNG, no widget that only a kernel could draw (a progress bar stuck at its first line)."""

import ast
import importlib.util
import json
import re
import sys
from pathlib import Path

import nbformat
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


# --- what a reader without a kernel sees (GitHub, nbviewer, nbconvert's HTML, a PDF) ----------------------------

EDITIONS = NOTEBOOKS + sorted((NOTEBOOKS[0].parent / "zh").glob("[0-9][0-9]_*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def explorer_cells_module():
    """tests/browser/explorer_cells.py: how the browser tests find the cells that show an explorer."""
    path = Path(__file__).resolve().parent / "browser" / "explorer_cells.py"
    if "explorer_cells" not in sys.modules:
        spec = importlib.util.spec_from_file_location("explorer_cells", path)
        sys.modules["explorer_cells"] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules["explorer_cells"]


def output_texts(output):
    """Every text an output shows: a stream's text, an error's traceback, each text-like part of its data."""
    parts = [output.get("text", ""), *output.get("traceback", [])]
    parts += [value for key, value in output.get("data", {}).items() if not key.startswith("image/")]
    return ["".join(p) if isinstance(p, list) else p if isinstance(p, str) else json.dumps(p) for p in parts]


def ansi_escapes(nb) -> list:
    return [(i, text[max(0, text.index("\x1b[") - 30):text.index("\x1b[") + 40])
            for i, cell in enumerate(nb["cells"]) for output in cell.get("outputs", [])
            for text in output_texts(output) if "\x1b[" in text]


def explorers_without_a_png(nb) -> list:
    """Cells that build and show an explorer (found as the browser tests find them) with no image/png output
    (``nb`` as nbformat reads it: each source one string)."""
    cells = explorer_cells_module()
    missing = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse(cells.code_of(cell))
        if cells.shown_explorers(tree) and not any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            missing.append(i)
    return missing


def widgets_without_a_fallback(nb) -> list:
    """Outputs that hold a widget view but no PNG: a reader without a kernel sees only their text/plain, e.g. a
    progress bar's line from when it started ("0%"). rlteach's explorers carry their figure; its progress bar
    (rlteach.progress) leaves its last line of text, no widget, once it closes."""
    return [(i, "".join(o["data"].get("text/plain", ""))[:80]) for i, cell in enumerate(nb["cells"])
            for o in cell.get("outputs", []) if WIDGET_VIEW in o.get("data", {}) and "image/png" not in o["data"]]


@pytest.mark.parametrize("notebook", EDITIONS, ids=lambda p: p.relative_to(p.parents[1]).as_posix())
def test_no_output_holds_a_terminal_colour_code(notebook):
    found = ansi_escapes(nbformat.read(notebook, as_version=4))
    assert not found, (f"{notebook.name}: ANSI escapes (cell index, text) {found}: a saved notebook shows them raw. "
                       "Stop them where they are made (e.g. rlteach.ray_backend.ray_init: no colours, no worker logs)")


@pytest.mark.parametrize("notebook", EDITIONS, ids=lambda p: p.relative_to(p.parents[1]).as_posix())
def test_every_explorer_shows_its_figure_without_a_kernel(notebook):
    missing = explorers_without_a_png(nbformat.read(notebook, as_version=4))
    assert not missing, (f"{notebook.name}: cells {missing} show an explorer but no image/png: GitHub, nbviewer and "
                         "a PDF show nothing there (rlteach.widget_parts.Shown displays the figure with the widget)")


@pytest.mark.parametrize("notebook", EDITIONS, ids=lambda p: p.relative_to(p.parents[1]).as_posix())
def test_no_output_is_a_widget_that_only_a_kernel_can_draw(notebook):
    found = widgets_without_a_fallback(nbformat.read(notebook, as_version=4))
    assert not found, f"{notebook.name}: widget outputs with no PNG (cell index, their text/plain): {found}"


@pytest.mark.parametrize("notebook", EDITIONS, ids=lambda p: p.relative_to(p.parents[1]).as_posix())
def test_a_notebook_saves_no_widget_state(notebook):
    saved = "widgets" in nbformat.read(notebook, as_version=4).metadata
    assert not saved, (f"{notebook.name} saved its widget state: nbconvert and nbviewer then draw dead widgets "
                       "(JavaScript from a CDN) in place of the PNGs. Execute it as `make times` does "
                       "(benchmarks/workbook_times.py)")
