"""Fixtures for the browser tests: a JupyterLab of its own, a headless Chromium, and a page that records errors.

``lab``      (module) starts ``python -m jupyter lab`` on 127.0.0.1, on a free port, with a random token, on a
             *copy* of ``notebooks/`` in a temporary folder, with throwaway settings and workspaces (no news
             pop-up, no update check, no autosave); stops it and its kernels at the end.
``browser``  (module) launches the system's Chromium headless through Playwright's ``executable_path``:
             ``playwright install`` downloads a browser build, which CI machines cannot fetch. No browser
             found: the tests skip with a message that says how to enable them, or fail when ``CI`` is set.
``page``     a fresh page; JavaScript errors (uncaught exceptions and console errors) land in ``js_errors``.
             When a test fails, a screenshot is saved (RLTEACH_BROWSER_ARTIFACTS, else pytest's temporary
             folder) and its path printed in the failure's report, with the errors and the lab's log.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
HOW_TO_ENABLE = ("the browser tests need Chromium and Playwright: `apt-get install chromium` (Debian/Ubuntu) or "
                 "set RLTEACH_CHROMIUM=/path/to/chrome, and `pip install -c constraints.txt -e .[dev]`; "
                 "never `playwright install`")
LAB_START_TIMEOUT_S = 90

# JupyterLab's settings for a test run: no "receive Jupyter news?" pop-up, no request to the internet for
# news or updates, and no autosave (the tests must not write into the notebooks they open).
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
}
LAB_PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}


def skip_or_fail(reason):
    """Skip on a reader's machine; in CI (``CI`` set) a missing piece is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, so the browser tests may not skip: {reason}", pytrace=False)
    pytest.skip(reason)


def find_chromium():
    """RLTEACH_CHROMIUM if set, else the first of BROWSER_NAMES on the PATH; None when there is none."""
    chosen = os.environ.get("RLTEACH_CHROMIUM")
    if chosen:
        return chosen if os.access(chosen, os.X_OK) else None
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab: ``url(path, token=True)`` builds its addresses; ``log`` is its output file."""

    def __init__(self, base, token, root_dir, log):
        self.base, self.token, self.root_dir, self.log = base, token, root_dir, log

    def url(self, path="lab", token=True):
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}" if token else f"{self.base}{path}"

    def log_tail(self, chars=3000):
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"


def wait_until_answers(proc, lab, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {proc.returncode}:\n{lab.log_tail()}")
        try:
            with urllib.request.urlopen(lab.url("api/status"), timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer within {timeout_s} s:\n{lab.log_tail()}")


def stop_lab(proc, lab):
    """Ask the server to shut down (it stops its kernels), then make sure nothing it started is left."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    try:
        request = urllib.request.Request(lab.url("api/shutdown"), method="POST", data=b"")
        urllib.request.urlopen(request, timeout=10).close()
        proc.wait(timeout=20)
    except Exception:  # the server is stuck or already gone: stop it by force
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    for child in children:  # kernels run in their own session, so they are not in the server's process group
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(children, timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab on 127.0.0.1 serving a copy of notebooks/ (as ``notebooks/`` under its root)."""
    home = tmp_path_factory.mktemp("lab")
    root_dir = home / "root"
    shutil.copytree(ROOT / "notebooks", root_dir / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = home / "app-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=1))
    (settings / "page_config.json").write_text(json.dumps(LAB_PAGE_CONFIG, indent=1))
    port, token = free_port(), secrets.token_hex(24)
    lab = Lab(f"http://127.0.0.1:{port}/", token, root_dir, home / "lab.log")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
           f"--LabApp.app_settings_dir={settings}", f"--LabApp.user_settings_dir={home / 'user-settings'}",
           f"--LabApp.workspaces_dir={home / 'workspaces'}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root; the server still listens on localhost
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    with open(lab.log, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=root_dir, start_new_session=True)
    try:
        wait_until_answers(proc, lab, LAB_START_TIMEOUT_S)
        yield lab
    finally:
        stop_lab(proc, lab)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright (sync API)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail(f"Playwright is not installed; {HOW_TO_ENABLE}")
    executable = find_chromium()
    if executable is None and os.environ.get("RLTEACH_CHROMIUM"):
        skip_or_fail(f"RLTEACH_CHROMIUM={os.environ['RLTEACH_CHROMIUM']} is not an executable file; {HOW_TO_ENABLE}")
    if executable is None:
        skip_or_fail(f"no Chromium found (RLTEACH_CHROMIUM, or {', '.join(BROWSER_NAMES)} on the PATH); "
                     f"{HOW_TO_ENABLE}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def js_errors():
    """The page's JavaScript errors so far: uncaught exceptions and console.error messages."""
    return []


@pytest.fixture
def page(browser, js_errors):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    new_page = context.new_page()
    new_page.on("pageerror", lambda error: js_errors.append(f"uncaught: {error}"))
    new_page.on("console", lambda msg: js_errors.append(f"console.error: {msg.text}") if msg.type == "error" else None)
    yield new_page
    context.close()


def failure_folder(config):
    """RLTEACH_BROWSER_ARTIFACTS if set (CI can keep it), else browser-failures/ in pytest's temporary folder."""
    chosen = os.environ.get("RLTEACH_BROWSER_ARTIFACTS")
    return Path(chosen) if chosen else config._tmp_path_factory.getbasetemp() / "browser-failures"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, save a screenshot of the page (still open here) and name it in the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or "page" not in item.funcargs:
        return
    folder = failure_folder(item.config)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / f"{item.name}.png".replace("/", "_")
    try:
        item.funcargs["page"].screenshot(path=str(shot), full_page=True)
        report.sections.append(("browser screenshot", f"saved to {shot}"))
    except Exception as error:  # the page may be gone: say so, keep the real failure
        report.sections.append(("browser screenshot", f"could not save one: {error}"))
    if item.funcargs.get("js_errors"):
        report.sections.append(("JavaScript errors", "\n".join(item.funcargs["js_errors"])))
    if "lab" in item.funcargs:
        report.sections.append(("JupyterLab log (tail)", item.funcargs["lab"].log_tail()))
