"""Every sentence a reader sees has a Chinese entry, and the catalogs work where rlteach is installed.

The messages are extracted here as ``make messages`` extracts them (Babel, babel.cfg: the package and the English
notebooks' code cells). Fails when a message has no Chinese translation (or a fuzzy one), when a translation loses
or renames a ``{field}``, when the compiled .mo is not the .po, when ``tr`` is given anything but a literal (Babel
could not extract it), or when the language switch, the environment variable or the CJK font do not work.
"""

import ast
import gettext
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages import pofile
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo

from rlteach import messages

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "rlteach" / "locale" / "zh" / "LC_MESSAGES" / "rlteach.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"tr": None, "N_": None, "tr_in": ((1, "c"), 2)}          # tr_in(context, message)
CJK = re.compile(r"[\u3400-\u9fff]")
FIELD = re.compile(r"(?<!\{)\{([^{}]*)\}")


def extracted() -> dict:
    """msgid -> where it is used, for every tr("...") and N_("...") of the package and the notebooks."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(ROOT / "babel.cfg"))
    found = {}
    for filename, lineno, message, _, context in extract_from_dir(str(ROOT), method_map, options_map,
                                                                  keywords=KEYWORDS, comment_tags=(),
                                                                  strip_comment_tags=True):
        found.setdefault((context, message), f"{filename}:{lineno}")
    return found


def literal_first_arguments(tree) -> list:
    """tr()/N_() calls whose message is built at run time (an f-string, "+", "%", .format()): Babel cannot extract
    those. A name (``tr(text)``) is the lookup of a message marked elsewhere with N_("..."), and passes."""
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS:
            args = node.args[1:] if node.func.id == "tr_in" else node.args
            first = args[0] if args else None
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if first is None or isinstance(first, (ast.JoinedStr, ast.BinOp, ast.Call)) or (
                    node.func.id == "N_" and not literal):
                bad.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    return bad


def code_of_everything() -> dict:
    """Place -> parsed code: every module of the package and every code cell of the English notebooks."""
    code = {str(p.relative_to(ROOT)): ast.parse(p.read_text()) for p in sorted((ROOT / "rlteach").rglob("*.py"))}
    for path in sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                lines = "".join(cell["source"]).splitlines()
                code[f"{path.name} cell {cell['id']}"] = ast.parse("\n".join(
                    "" if line.lstrip().startswith(("%", "!")) else line for line in lines))
    return code


def messages_in_code() -> dict:
    """(context, msgid) -> where, for every tr("...")/tr_in("...", "...")/N_("...") the code holds, found by
    Python's own parser (Babel's extraction skips a tr(...) nested inside the arguments of another tr(...))."""
    found = {}
    for place, tree in code_of_everything().items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS):
                continue
            args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
            if node.func.id == "tr_in" and len(args) > 1 and args[0] and args[1]:
                found.setdefault((args[0], args[1]), place)
            elif node.func.id != "tr_in" and args and args[0]:
                found.setdefault((None, args[0]), place)
    return found


@pytest.fixture(scope="module")
def catalog():
    with open(PO, "rb") as f:
        return pofile.read_po(f)


@pytest.fixture(scope="module")
def used():
    return messages_in_code()


def test_make_messages_extracts_every_message(used):
    """What `make messages` (Babel) extracts is every message the code holds: none hidden from the catalog."""
    seen = extracted()
    hidden = [f"{where}: {key[1]!r}" for key, where in used.items() if key not in seen]
    assert not hidden, ("Babel cannot see these (a tr() inside another tr()'s arguments: give it a line of its "
                        "own):\n" + "\n".join(hidden))


def test_extraction_finds_the_package_and_the_notebooks(used):
    places = {where.split(":")[0] for where in extracted().values()}
    assert any(p.startswith("rlteach/plotting/") for p in places)
    assert any(p.startswith("rlteach/exercises/") for p in places)
    assert {f"notebooks/{p.name}" for p in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb")} <= places
    assert len(used) > 500


def test_every_message_has_a_chinese_translation(used, catalog):
    """A translation with words and no Chinese character is a slip, unless the .po says it is meant
    ("# same in Chinese" above the entry: a name, a unit, a table row of numbers)."""
    missing = []
    for (context, message), where in used.items():
        entry = catalog.get(message, context=context)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(f"{where}: {message!r}")
        elif (re.search(r"[A-Za-z]{2}", FIELD.sub("", message)) and not CJK.search(entry.string)
              and "same in Chinese" not in entry.user_comments):
            missing.append(f"{where}: {message!r} -> {entry.string!r} (no Chinese)")
    assert not missing, (f"{len(missing)} messages without a Chinese entry (run `make messages`, translate them in "
                         f"{PO.relative_to(ROOT)}, run it again):\n" + "\n".join(missing[:50]))


def test_the_catalog_holds_only_messages_in_use(used, catalog):
    unused = [m.id for m in catalog if m.id and (m.context, m.id) not in used]
    assert not unused, "no longer in the code (run `make messages`):\n" + "\n".join(map(repr, unused[:30]))


def test_translations_keep_every_field(catalog):
    changed = [f"{m.id!r} -> {m.string!r}" for m in catalog if m.id and m.string
               and sorted(FIELD.findall(m.id)) != sorted(FIELD.findall(m.string))]
    assert not changed, "translations whose {fields} differ from the English:\n" + "\n".join(changed)


def test_the_catalog_passes_babels_checks(catalog):
    """What `pybabel compile` checks (a "%" read as a placeholder, as in "5% of", must match too: give such a
    number as a field, "{share} of")."""
    errors = [f"{m.id!r}: {e}" for m, errs in catalog.check() for e in errs]
    assert not errors, "\n".join(errors)


def test_the_compiled_catalog_is_the_po(catalog):
    made = io.BytesIO()
    write_mo(made, catalog)
    ours = gettext.GNUTranslations(io.BytesIO(made.getvalue()))._catalog
    with open(MO, "rb") as f:
        shipped = gettext.GNUTranslations(f)._catalog
    ours.pop("", None), shipped.pop("", None)
    assert shipped == ours, "rlteach.mo is not compiled from rlteach.po: run `make messages`"


def test_the_checker_catches_a_computed_message():
    found = literal_first_arguments(ast.parse('tr(f"{x} steps")\ntr("{x} steps", x=1)\ntr(TEXT)\nN_(TEXT)\n'
                                              'tr("a" + b)'))
    assert found == ["line 1: tr(f'{x} steps')", "line 4: N_(TEXT)", "line 5: tr('a' + b)"]


@pytest.fixture
def chinese():
    messages.set_language("zh")
    yield
    messages.set_language("en")


def test_set_language_switches_every_message(chinese, catalog):
    entry = next(m for m in catalog if m.id and "{" not in m.id and m.string)
    assert messages.tr(entry.id) == entry.string and messages.language() == "zh"
    assert os.environ["RLTEACH_LANG"] == "zh"            # worker processes start in Chinese too
    messages.set_language("en")
    assert messages.tr(entry.id) == entry.id


def test_fields_are_filled_in_either_language(chinese):
    said = messages.tr("{a_name} {relation} {b_name} ({a}{unit} vs {b}{unit}; gap {gap}{unit}, noise {noise}{unit})",
                       a_name="甲", relation="领先于", b_name="乙", a="2.5", b="1.5", gap="1.0", noise="0.1", unit="x")
    assert CJK.search(said.replace("甲", "").replace("领先于", "").replace("乙", ""))      # the frame is Chinese
    assert all(part in said for part in ("甲", "领先于", "乙", "2.5x", "1.5x", "1.0x", "0.1x"))
    assert messages.tr("no such message {x}", x=1) == "no such message 1"     # unknown: English, still filled


def test_chinese_sets_a_space_between_chinese_and_latin(chinese):
    assert messages.spaced("sync N=4步进快于sync N=1（1.2倍）") == "sync N=4 步进快于 sync N=1（1.2 倍）"
    assert messages.spaced("在 2 个核心上") == "在 2 个核心上"                     # already spaced: unchanged
    said = messages.tr("{a_name} {relation} {b_name} ({a}{unit} vs {b}{unit}; gap {gap}{unit}, noise {noise}{unit})",
                       a_name="sync N=4", relation="步进快于", b_name="sync N=1", a="2", b="1", gap="1", noise="0",
                       unit="")
    assert said.startswith("sync N=4 步进快于 sync N=1")
    messages.set_language("en")
    assert messages.tr("{a}步", a="x1") == "x1步"                                # English: untouched


def test_language_names_are_checked():
    messages.set_language("zh_CN")
    assert messages.language() == "zh"
    messages.set_language("en")
    with pytest.raises(ValueError, match="speaks en, zh"):
        messages.set_language("fr")


def test_rlteach_lang_chooses_the_language_of_a_new_process(catalog):
    entry = next(m for m in catalog if m.id and "{" not in m.id and m.string)
    code = f"from rlteach.messages import tr; print(tr({entry.id!r}))"
    env = {**os.environ, "RLTEACH_LANG": "zh"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == entry.string.strip(), out.stderr
    env["RLTEACH_LANG"] = "klingon"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == entry.id.strip() and "speaks en, zh" in out.stderr


def test_chinese_draws_with_a_cjk_font(chinese):
    import matplotlib

    assert messages.cjk_font_files(), "make setup installs mpl-font (the zh extra): Noto Sans CJK SC"
    assert matplotlib.rcParams["font.sans-serif"][0] == "Noto Sans CJK SC"


def test_every_fault_outcome_is_shown_in_the_readers_language(chinese):
    """``faults.outcome_words`` reads a recorded (English) outcome back into its message: each of ``OUTCOMES``,
    filled as ``run_case`` fills it, comes out Chinese."""
    from rlteach import faults

    for message in faults.OUTCOMES.values():
        recorded = message.format(error="WorkerError", worker="1", restarts=2, steps="6,000", guard="60")
        shown = faults.outcome_words(recorded)
        assert CJK.search(shown) and all(v in shown for v in re.findall(r"WorkerError|6,000|60", recorded)), shown


def test_a_missing_cjk_font_is_a_clear_warning(monkeypatch):
    monkeypatch.setattr(messages, "CJK_FONTS", ("No Such Font",))
    monkeypatch.setattr(messages, "cjk_font_files", lambda: [])
    with pytest.warns(UserWarning, match="no CJK font found.*pip install mpl-font"):
        assert messages.use_cjk_font() is None


def test_the_wheel_carries_the_catalog(tmp_path):
    """`pip install .` outside the clone speaks Chinese: the .mo travels in the wheel."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    names = zipfile.ZipFile(next(tmp_path.glob("rlteach-*.whl"))).namelist()
    assert "rlteach/locale/zh/LC_MESSAGES/rlteach.mo" in names
