"""Every sentence a reader sees, in the reader's language: English (the default) or Chinese (中文).

    from rlteach.messages import tr
    print(tr("{name} solved CartPole in {steps:,} env steps", name=name, steps=steps))

``tr(message, **fields)`` looks ``message`` up in the current language's catalog and fills its named fields
with ``str.format``: the fields are named, so a translation may put them in another order. ``tr_in(context,
message, **fields)`` is the same for an English sentence that Chinese says two ways (gettext's context). A
message that is defined before anyone reads it (a table of labels, an exercise statement at import time) is marked with
``N_(message)``, which returns it unchanged, and looked up with ``tr`` when it is shown.

The catalogs are GNU gettext's, read by the standard library's ``gettext``:

    rlteach/locale/rlteach.pot                     every message, extracted from the package and the notebooks
    rlteach/locale/zh/LC_MESSAGES/rlteach.po       their Chinese translations (edit this one)
    rlteach/locale/zh/LC_MESSAGES/rlteach.mo       compiled from it; committed, so `pip install .` needs no tools

``make messages`` re-extracts the messages (Babel's ``pybabel extract``; notebooks through ``extract_notebook``
below), merges new ones into the .po and compiles the .mo. ``tests/test_messages.py`` fails when a message has
no Chinese entry, when a translation loses one of its fields, or when the .mo is older than the .po.

The language: ``set_language("zh")`` in a running Python, or ``RLTEACH_LANG=zh`` before it starts. Chinese in
figures needs a CJK font: ``set_language("zh")`` makes matplotlib use Noto Sans CJK SC (the ``mpl-font``
package, which `make setup` installs) or any CJK font the system has, and warns when it finds none.
Error messages stay English: they are searched for on the web, and they name code.
"""

from __future__ import annotations

import gettext
import os
import re
import warnings
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "rlteach"
LANGUAGES = ("en", "zh")
# Fonts that draw Chinese, best first: the pip-installed one, then what systems commonly have.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Arial Unicode MS")

_language = "en"
_catalog: gettext.NullTranslations = gettext.NullTranslations()


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without looking it up yet (look it up with ``tr`` when it is shown)."""
    return message


# Chinese typesetting puts a space between a Chinese character and a Latin letter or digit ("在 2 个核心上",
# "a3c:threadx8 领先于 a2c:sync"); a field filled into a Chinese sentence gets it too.
_CJK_THEN_LATIN = re.compile(r"([\u3400-\u9fff])(?=[A-Za-z0-9])")
_LATIN_THEN_CJK = re.compile(r"([A-Za-z0-9])(?=[\u3400-\u9fff])")


def spaced(text: str) -> str:
    """``text`` with a space wherever a Chinese character meets a Latin letter or digit."""
    return _LATIN_THEN_CJK.sub(r"\1 ", _CJK_THEN_LATIN.sub(r"\1 ", text))


def _filled(text: str, fields: dict) -> str:
    text = text.format(**fields) if fields else text
    return spaced(text) if _language == "zh" else text


def tr(message: str, /, **fields) -> str:
    """``message`` in the current language, with its ``{named}`` fields filled from ``fields``."""
    return _filled(_catalog.gettext(message), fields)


def tr_in(context: str, message: str, /, **fields) -> str:
    """``tr`` for a message that needs another translation in ``context`` than elsewhere (gettext's pgettext)."""
    return _filled(_catalog.pgettext(context, message), fields)


def language() -> str:
    """The current language: "en" or "zh"."""
    return _language


def cjk_font_files() -> list:
    """The CJK font files that pip installed (the ``mpl-font`` package's Noto Sans CJK SC, each weight: bold titles
    stay bold), without importing that package (importing it would change matplotlib's settings for everyone)."""
    import importlib.util

    spec = importlib.util.find_spec("mpl_font")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "noto"
    return sorted(folder.glob("NotoSansCJKsc-*.otf"))


def use_cjk_font() -> str | None:
    """Make matplotlib draw Chinese: register pip's CJK font, put the first CJK font found ahead of the default
    sans-serif ones, and return its name; warn and return None when there is none (Chinese would be boxes)."""
    import matplotlib
    from matplotlib import font_manager

    for path in cjk_font_files():
        if str(path) not in {f.fname for f in font_manager.fontManager.ttflist}:
            font_manager.fontManager.addfont(str(path))
    have = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in have), None)
    if found is None:
        warnings.warn("no CJK font found: Chinese text in figures would show as empty boxes. "
                      "Install one with `pip install mpl-font` (or `make setup`), then restart the kernel.",
                      stacklevel=2)
        return None
    sans = [f for f in matplotlib.rcParams["font.sans-serif"] if f != found]
    matplotlib.rcParams["font.sans-serif"] = [found, *sans]
    matplotlib.rcParams["font.family"] = ["sans-serif"]
    matplotlib.rcParams["axes.unicode_minus"] = False   # CJK fonts may lack U+2212; draw "-" instead
    return found


def set_language(lang: str) -> None:
    """Show every message in ``lang`` from now on ("en" or "zh"), and in the processes this one starts.

    Chinese also points matplotlib at a CJK font (see ``use_cjk_font``)."""
    global _language, _catalog
    lang = (lang or "en").strip().lower().split("_")[0].split("-")[0]
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: rlteach speaks {', '.join(LANGUAGES)}")
    _catalog = (gettext.NullTranslations() if lang == "en"
                else gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang]))
    _language = lang
    os.environ["RLTEACH_LANG"] = lang        # worker processes start in the same language
    if lang == "zh":
        use_cjk_font()


def extract_notebook(fileobj, keywords, comment_tags, options):
    """Babel's extractor for ``.ipynb`` (pyproject.toml registers it as ``ipynb``; babel.cfg uses it): the
    messages of a notebook's code cells.

    Each code cell is read as Python (IPython's ``%magic`` and ``!shell`` lines blanked); a message's line is
    counted through the cells in order, so ``make messages`` points at the notebook line by line."""
    import io
    import json

    from babel.messages.extract import extract_python

    lines = []
    for cell in json.load(fileobj)["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines += ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()] + [""]
    code = io.BytesIO("\n".join(lines).encode("utf-8"))
    yield from extract_python(code, keywords, comment_tags, {**options, "encoding": "utf-8"})


try:
    set_language(os.environ.get("RLTEACH_LANG", "en"))
except ValueError as error:
    warnings.warn(f"RLTEACH_LANG: {error}; speaking English", stacklevel=1)
    set_language("en")
