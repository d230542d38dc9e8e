"""Every explorer of every notebook, in a real browser, as a reader uses it.

For each notebook, a small copy made of the cells its explorers need (tests/browser/explorer_cells.py) runs in
the lab (Run > Run All Cells). Then, for each explorer, found by its CSS hooks (rlteach.widget_parts):
  - it renders: its box, its controls and its figure (a PNG) are on the page;
  - a slider explorer redraws its figure when any of its sliders moves (the PNG's bytes change);
  - a training explorer: moving its sliders and check boxes, then Train, adds a curve (the PNG changes) and the
    status names the run's settings as the controls show them; a second Train on another backend (the toggle)
    adds a second curve; Clear runs brings back the empty axes;
  - notebook 07's explorer also takes its dropdowns, and a combination that does not exist shows the Config's
    message ("Not started: ...") in the widget;
and no cell has an error or any other stderr output, and the page logs no JavaScript error.

Only notebook 07's controls can express a setting the Config rejects: the others' sliders span valid ranges only.
Train runs stop at TOTAL_STEPS (the copy's explorers get ``total_steps=TOTAL_STEPS``), on threads or processes:
never Ray (06 offers it; starting it costs ~10 s and leaves daemons).
"""

import json
import time
import urllib.request
from decimal import Decimal, InvalidOperation
from pathlib import Path

import nbformat
import pytest
from explorer_cells import explorer_notebook, write_explorer_notebook
from playwright.sync_api import expect

from rlteach import side_by_side

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ["01_advantage", "02_policy_gradient", "03_a3c", "04_apex", "05_impala", "06_scaling_out",
             "07_side_by_side", "08_what_the_field_runs_today"]
TOTAL_STEPS = 4000          # two greedy evaluations (eval_every is 2000): a line to draw, in a few seconds
RUN_TIMEOUT_MS = 120_000    # Run All Cells: a fresh kernel imports torch (and Ray in 06)
TRAIN_TIMEOUT_S = 90
NOT_HERE = ("ray",)         # backends the test never chooses
KERNEL_NAME = "Python 3 (ipykernel)"


def test_the_list_names_every_notebook_that_shows_an_explorer():
    shown = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb") if explorer_notebook(p, TOTAL_STEPS)[1]}
    assert shown == set(NOTEBOOKS)


# --- the lab: a kernel per notebook, the cells run through the menu --------------------------------------------

def api(lab, path, method="GET", body=None):
    """A call to the lab's REST API (JSON in, JSON out)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(lab.url(path), method=method, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        text = reply.read()
    return json.loads(text) if text else None


@pytest.fixture
def kernel(lab, page):
    """A session (and kernel) for the notebook this test opens, started through the API before the page opens
    it, so the lab never asks which kernel to use; at the end the page closes and the kernel shuts down, so
    kernels do not pile up on a 2-core machine."""
    sessions = []

    def start(path):
        sessions.append(api(lab, "api/sessions", "POST", {"path": path, "type": "notebook", "name": path.split("/")[-1],
                                                          "kernel": {"name": "python3"}}))

    yield start
    page.context.close()
    for session in sessions:
        api(lab, f"api/sessions/{session['id']}", "DELETE")
    assert api(lab, "api/kernels") == [], "a kernel is still running"


def run_all(page, lab, kernel, path, wait=True):
    """Open the notebook at ``path`` (in the lab's folder), Run All Cells, wait until every cell has run (unless
    not ``wait``: then ``wait_until_run(page)``)."""
    relative = path.relative_to(lab.root_dir).as_posix()
    kernel(relative)
    page.goto(lab.url(f"lab/tree/{relative}?reset"))       # reset: not the tabs the last test left open
    # Wait for the notebook to hold its kernel: run while its toolbar still says "No Kernel", and the lab asks
    # which kernel to start.
    expect(page.locator(".jp-NotebookPanel-toolbar .jp-KernelName")).to_have_text(KERNEL_NAME, timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=60_000)
    page.locator("#jp-MainMenu").get_by_text("Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    if wait:
        wait_until_run(page)


def wait_until_run(page):
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
        return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }""",
                           timeout=RUN_TIMEOUT_MS)


def open_and_run(page, lab, kernel, name) -> list:
    """Write the small copy of notebook ``name``, open it, Run All Cells, wait until every cell has run;
    return the names of the explorers it shows, in order."""
    path, explorers = write_explorer_notebook(ROOT / "notebooks" / f"{name}.ipynb", lab.root_dir / "notebooks",
                                              TOTAL_STEPS)
    run_all(page, lab, kernel, path)
    return explorers


def assert_no_error_output(page):
    """JupyterLab 4 shows an error (traceback) and a stderr stream alike: application/vnd.jupyter.stderr."""
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert stderr.count() == 0, "stderr or error output:\n" + "\n---\n".join(stderr.all_inner_texts())
    broken = page.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    assert broken.count() == 0, "a widget did not render:\n" + "\n".join(broken.all_inner_texts())


# --- reading and moving an explorer ----------------------------------------------------------------------------

def figure_digest(explorer):
    """SHA-256 of the PNG the explorer's figure shows (the bytes behind its blob: URL); None while it has none."""
    return explorer.locator("img.rlteach-figure").evaluate("""async img => {
        try {
            const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
            if (bytes.length < 8 || bytes[1] !== 0x50 || bytes[2] !== 0x4e || bytes[3] !== 0x47) return null;
            const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
            return [...hash].map(b => b.toString(16).padStart(2, '0')).join('');
        } catch (error) { return null; }   // the URL was replaced (and revoked) while we read it
    }""")


def new_figure(explorer, before, after="", timeout_s=30):
    """Wait until the figure shows a PNG other than ``before``; return its digest."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        digest = figure_digest(explorer)
        if digest not in (None, before):
            return digest
        time.sleep(0.2)
    raise AssertionError(f"the figure did not change within {timeout_s} s {after}")


def controls(explorer) -> dict:
    """name -> the control's element, from the hooks rlteach-control-<name>."""
    found = {}
    for control in explorer.locator(".rlteach-control").all():
        names = [c for c in control.get_attribute("class").split() if c.startswith("rlteach-control-")]
        found[names[0].removeprefix("rlteach-control-")] = control
    return found


def kind_of(control) -> str:
    for kind, selector in (("slider", ".noUi-handle"), ("check", "input[type=checkbox]"), ("dropdown", "select"),
                           ("toggle", ".widget-toggle-button")):
        if control.locator(selector).count():
            return kind
    raise AssertionError(f"a control of no known kind: {control.get_attribute('class')}")


def move_slider(control) -> str:
    """One step down with the keyboard (up at the minimum); wait for the readout to change and return it."""
    handle, readout = control.locator(".noUi-handle"), control.locator(".widget-readout")
    before = readout.inner_text()
    at_min = float(handle.get_attribute("aria-valuenow")) <= float(handle.get_attribute("aria-valuemin")) + 1e-9
    handle.focus()
    handle.press("ArrowRight" if at_min else "ArrowLeft")
    expect(readout).not_to_have_text(before)
    return readout.inner_text()


def choose(control, option):
    """Click ``option`` of a toggle, or select it in a dropdown."""
    if kind_of(control) == "dropdown":
        control.locator("select").select_option(option)
    else:
        control.get_by_role("button", name=option, exact=True).click()
        expect(control.locator(".widget-toggle-button.mod-active")).to_have_text(option)


def assert_renders(explorer):
    expect(explorer).to_be_visible()
    for name, control in controls(explorer).items():
        expect(control, f"control {name}").to_be_visible()
    figure = explorer.locator("img.rlteach-figure")
    expect(figure).to_be_visible()
    assert figure.evaluate("img => img.complete && img.naturalWidth > 0"), "the figure is not an image"
    assert figure_digest(explorer) is not None, "the figure is not a PNG"


# --- the checks, by the kind of explorer -----------------------------------------------------------------------

def check_slider_explorer(explorer):
    """Each slider, moved with the keyboard, redraws the figure."""
    sliders = controls(explorer)
    assert sliders and {kind_of(c) for c in sliders.values()} == {"slider"}
    digest = figure_digest(explorer)
    for name, slider in sliders.items():
        shown = move_slider(slider)
        digest = new_figure(explorer, digest, f"after {name} moved to {shown}")


def train(explorer, digest) -> tuple:
    """Press Train, wait for the run's summary in the status and a new figure: (its settings, the new digest).
    The status reads "<label>: <summary>", the label "name=value, ..." (SideBySideExplorer: a name)."""
    status = explorer.locator(".rlteach-status")
    before = status.inner_text()
    explorer.locator(".rlteach-train").click()
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    while (text := status.inner_text()) == before or text.startswith("training"):
        assert time.monotonic() < deadline, f"no run's summary within {TRAIN_TIMEOUT_S} s: {text!r}"
        time.sleep(0.2)
    assert "(seed " in text and ": " in text, f"the status shows no run's summary: {text!r}"
    return text.split(": ", 1)[0], new_figure(explorer, digest, f"after a run: {text!r}")


def same_value(shown, printed) -> bool:
    """Some number shows as ``shown`` on the control and as ``printed`` (format ".3g") in a run's label: their
    rounding intervals overlap. Anything else (an integer, True, a name) must be equal."""
    if shown == printed:
        return True
    try:
        r, p = Decimal(shown), Decimal(printed)
    except InvalidOperation:
        return False
    half_r = Decimal(5).scaleb(r.as_tuple().exponent - 1)       # half a unit of the readout's last digit
    half_p = Decimal(5).scaleb(p.adjusted() - 3) if p else 0     # ... of the label's third significant digit
    return abs(r - p) < half_r + half_p


def assert_in_label(label, name, shown):
    """The run's label "name=value, ..." gives ``name`` the value the control shows."""
    settings = dict(pair.split("=", 1) for pair in label.split(", ") if "=" in pair)
    assert name in settings, f"{name} is not in the run's label {label!r}"
    assert same_value(shown, settings[name]), f"{name} shows {shown}, the run had {settings[name]}: {label!r}"


def check_train_explorer(explorer):
    """Move every slider and check box, Train: a curve appears, and the run's label has the values the controls
    show. Then the backend toggle to another backend (no toggle: a slider again), Train: a second curve. Clear
    runs: the empty axes again."""
    empty = figure_digest(explorer)
    moved = {}
    for name, control in controls(explorer).items():
        if kind_of(control) == "slider":
            moved[name] = move_slider(control)
        elif kind_of(control) == "check":
            control.locator("input").click()
            moved[name] = str(control.locator("input").is_checked())
    label, first = train(explorer, empty)
    for name, shown in moved.items():
        assert_in_label(label, name, shown)
    toggle = controls(explorer).get("backend")
    if toggle is not None:
        current = toggle.locator(".widget-toggle-button.mod-active").inner_text()
        options = [b.inner_text() for b in toggle.locator(".widget-toggle-button").all()]
        name, shown = "backend", next(o for o in options if o != current and o not in NOT_HERE)
        choose(toggle, shown)
    else:
        name = next(name for name in moved if kind_of(controls(explorer)[name]) == "slider")
        shown = move_slider(controls(explorer)[name])
    label, second = train(explorer, first)
    assert_in_label(label, name, shown)
    explorer.locator(".rlteach-clear").click()
    assert new_figure(explorer, second) == empty, "Clear runs did not bring back the empty axes"


def check_side_by_side_explorer(explorer):
    """07: A2C on threads does not exist (the Config's message, no run); A2C sync with a shorter delay runs;
    then IMPALA on threads with one worker fewer on CartPole (both dropdowns, the toggle, both sliders)."""
    c = controls(explorer)
    assert {name: kind_of(control) for name, control in c.items()} == {
        "workload": "dropdown", "delay_ms": "slider", "algorithm": "dropdown", "how": "toggle", "workers": "slider"}
    empty = figure_digest(explorer)
    choose(c["algorithm"], "a2c")
    choose(c["how"], "thread")
    with pytest.raises(ValueError) as refused:
        side_by_side.contender_config("a2c:thread", "sleep", 0, TOTAL_STEPS)
    explorer.locator(".rlteach-train").click()
    expect(explorer.locator(".rlteach-status")).to_have_text(f"Not started: {refused.value}", timeout=30_000)
    assert figure_digest(explorer) == empty, "a refused run changed the figure"
    choose(c["how"], "sync")
    choose(c["workload"], "sleep")
    delay = move_slider(c["delay_ms"])
    label, first = train(explorer, empty)
    assert label == f"a2c:sync on sleep ({float(delay):g} ms)", label
    choose(c["workload"], "cartpole")
    choose(c["algorithm"], "impala")
    choose(c["how"], "thread")
    workers = move_slider(c["workers"])
    label, _ = train(explorer, first)
    assert label == f"impala:threadx{workers} on cartpole", label


CHECKS = {"advantage": check_slider_explorer, "priority": check_slider_explorer, "vtrace": check_slider_explorer,
          "train": check_train_explorer, "side-by-side": check_side_by_side_explorer}


def kind_of_explorer(explorer) -> str:
    kinds = [c.removeprefix("rlteach-").removesuffix("-explorer") for c in explorer.get_attribute("class").split()
             if c.startswith("rlteach-") and c.endswith("-explorer") and c != "rlteach-explorer"]
    assert len(kinds) == 1 and kinds[0] in CHECKS, f"no browser check for the explorer {kinds}"
    return kinds[0]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_explorer_of_the_notebook_works_in_the_browser(name, page, js_errors, lab, kernel):
    shown = open_and_run(page, lab, kernel, name)
    explorers = page.locator(".rlteach-explorer")
    expect(explorers).to_have_count(len(shown))
    for i in range(len(shown)):
        explorer = explorers.nth(i)
        assert_renders(explorer)
        CHECKS[kind_of_explorer(explorer)](explorer)
    assert_no_error_output(page)
    assert js_errors == [], "JavaScript errors on the page:\n" + "\n".join(js_errors)


LIVE_CELLS = ["""import time
from IPython.display import display
from rlteach import policy_gradient
from rlteach.progress import tqdm
from rlteach.widgets import LiveView""",
              f"""view = LiveView()
display(view)
result = policy_gradient.train(policy_gradient.Config(seed=0, total_steps={TOTAL_STEPS}, eval_every=1000),
                               callback=view, progress=False)""",
              """for _ in tqdm(range(20), desc="counting"):
    time.sleep(0.25)"""]


def test_a_live_view_and_a_progress_bar_are_live_then_leave_their_figure_and_text(page, js_errors, lab, kernel):
    """The outputs rlteach updates after a cell (rlteach.widget_parts, rlteach.progress) in the lab: the live view
    stays one live widget with its curve; the progress bar is a widget while it runs, then one line of text."""
    path = lab.root_dir / "notebooks" / "browser_live_outputs.ipynb"
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(source) for source in LIVE_CELLS]
    nbformat.write(nb, path)
    run_all(page, lab, kernel, path, wait=False)
    bar = page.locator(".jp-OutputArea-output .widget-hprogress")         # ipywidgets' FloatProgress
    expect(bar).to_have_count(1, timeout=RUN_TIMEOUT_MS)                        # while it runs: the widget
    wait_until_run(page)
    expect(bar).to_have_count(0)                                                # done: its line of text
    expect(page.locator(".jp-OutputArea-output", has_text="counting: 100%|██████████| 20/20")).to_have_count(1)
    view = page.locator(".rlteach-live-view")
    expect(view).to_have_count(1)
    expect(view.locator(".rlteach-status")).to_contain_text("last evaluation")      # the widget, not the PNG
    assert view.locator("img.rlteach-figure").evaluate("img => img.complete && img.naturalWidth > 0")
    assert_no_error_output(page)
    assert js_errors == [], "JavaScript errors on the page:\n" + "\n".join(js_errors)

