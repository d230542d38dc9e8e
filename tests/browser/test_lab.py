"""The lab itself, in a real browser: without the token it is refused; with it, the workbook opens on 00."""

import json
import urllib.error
import urllib.request

import pytest

START = "notebooks/00_start_here.ipynb"


def notebook_title(lab, path):
    """The text of the notebook's first '# ' heading, read from the copy the lab serves."""
    cells = json.loads((lab.root_dir / path).read_text())["cells"]
    for line in "".join(cells[0]["source"]).splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise AssertionError(f"{path}: the first cell has no '# ' title")


def test_the_api_without_the_token_is_refused(lab):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(lab.url("api/contents/notebooks", token=False), timeout=10)
    assert refused.value.code == 403


def test_the_lab_without_the_token_shows_the_login_page(page, js_errors, lab):
    page.goto(lab.url(f"lab/tree/{START}", token=False))
    page.wait_for_load_state("domcontentloaded")
    assert "/login" in page.url, f"expected the login page, got {page.url}"
    assert page.locator("input[type=password]").first.is_visible()
    assert page.locator("#jp-main-dock-panel").count() == 0, "the lab's shell was served without the token"


def test_with_the_token_the_workbook_opens_on_00(page, js_errors, lab):
    title = notebook_title(lab, START)
    page.goto(lab.url(f"lab/tree/{START}"))
    heading = page.locator(".jp-Notebook .jp-RenderedMarkdown h1").first
    heading.wait_for(state="visible", timeout=60_000)
    assert title in heading.inner_text()
    # The kernel starts (the toolbar's status goes idle): the page is usable, not only drawn.
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=60_000)
    assert js_errors == [], "JavaScript errors on the page:\n" + "\n".join(js_errors)
