"""The Chinese edition (notebooks/zh/) cannot silently fall behind the English one.

Fails when an English markdown cell has no translation or changed after its translation was made (the message
names the notebook, the cell and its first words: run ``notebooks/zh/build.py --todo NN_name`` for the cell and
its new hash); when a built Chinese notebook differs from what ``make zh`` makes now; when a code cell or an
output differs from the English one; when a glossary term of an English cell (outside code and math) has no
Chinese form in its translation; when a relative link of a translation leads nowhere.
"""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ZH = ROOT / "notebooks" / "zh"
spec = importlib.util.spec_from_file_location("zh_build", ZH / "build.py")
build = importlib.util.module_from_spec(spec)
sys.modules["zh_build"] = build          # its dataclass looks its module up there
spec.loader.exec_module(build)

NOTEBOOKS = [p.stem for p in build.english_notebooks()]


def test_every_english_notebook_is_covered():
    assert len(NOTEBOOKS) == 9 and {p.stem for p in ZH.glob("[0-9][0-9]_*.ipynb")} == set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_markdown_cell_has_a_current_translation(name):
    found = build.problems(build.ENGLISH / f"{name}.ipynb", build.read_translations(name))
    assert not found, "the Chinese edition is behind:\n" + "\n".join(found)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_built_notebook_is_what_the_build_makes_now(name):
    made = build.dumps(build.build(build.ENGLISH / f"{name}.ipynb", build.read_translations(name)))
    assert (ZH / f"{name}.ipynb").read_text(encoding="utf-8") == made, f"run `make zh`: {name} is out of date"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_code_cells_and_outputs_are_the_english_ones(name):
    en = json.loads((build.ENGLISH / f"{name}.ipynb").read_text(encoding="utf-8"))
    zh = json.loads((ZH / f"{name}.ipynb").read_text(encoding="utf-8"))
    assert [(c["id"], c["cell_type"]) for c in zh["cells"]] == [(c["id"], c["cell_type"]) for c in en["cells"]]
    for e, z in zip(en["cells"], zh["cells"], strict=True):
        if e["cell_type"] == "code":
            assert z == e, f"{name}: code cell {e['id']} differs from the English one"
        else:
            assert re.search(r"[\u4e00-\u9fff]", build.source_of(z)), f"{name}: cell {e['id']} has no Chinese"


def glossary() -> list:
    """(English term, its Chinese forms) from GLOSSARY.md's term tables: the English column split at commas,
    math, code and parenthesised parts dropped; the 中文 column gives one entry per term, "a / b" for either."""
    pairs = []
    for line in (ROOT / "GLOSSARY.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 4 or cells[0] in ("term",) or set(cells[0]) <= set("-"):
            continue
        terms = []
        for part in re.split(r"[,;]\s*", re.sub(r"\$[^$]*\$", "", cells[0])):
            part = re.split(r"\s*\(", re.sub(r"`[^`]*`", "", part))[0].strip()
            if part and not part.startswith("-"):
                terms.append(part)
        forms = [f for f in cells[1].split(", ") if f != "—"]
        assert len(forms) == len(terms), f"GLOSSARY.md: {cells[0]!r} has {len(terms)} terms, 中文 {cells[1]!r}"
        pairs += [(term, [f.strip() for f in form.split(" / ")]) for term, form in zip(terms, forms, strict=True)]
    return pairs


def without_code_and_math(markdown: str) -> str:
    """A markdown cell with its code blocks, inline code and math blanked out."""
    return re.sub(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", " ", markdown, flags=re.S)


def prose(markdown: str) -> str:
    """The words of a markdown cell outside code, math, HTML comments and link targets."""
    return re.sub(r"<!--.*?-->|\]\([^)]*\)", " ", without_code_and_math(markdown), flags=re.S)


def test_the_glossary_gives_every_term_a_chinese_form():
    pairs = glossary()
    assert len(pairs) > 90 and all(forms and all(forms) for _, forms in pairs)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_glossary_terms_keep_their_chinese_form(name):
    pairs, missing = glossary(), []
    translations = build.read_translations(name)
    for cell in json.loads((build.ENGLISH / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]:
        t = translations.get(cell["id"])
        if cell["cell_type"] != "markdown" or t is None:
            continue
        english, chinese = prose(build.source_of(cell)), t.text.lower()
        for term, forms in pairs:
            if term in t.exceptions or not re.search(rf"(?<![\w-]){re.escape(term)}(?:s|es)?(?![\w-])", english, re.I):
                continue
            if not any(form.lower() in chinese for form in forms):
                missing.append(f"cell {cell['id']}: {term!r} -> one of {forms}")
    assert not missing, f"{name}: glossary terms without their Chinese form (or list them after 'except:'):\n" + \
        "\n".join(missing)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_relative_links_of_a_translation_lead_somewhere(name):
    broken = []
    for t in build.read_translations(name).values():
        for target in re.findall(r"\]\(([^)\s#]+)", without_code_and_math(t.text)):
            if not re.match(r"[a-z]+:", target) and not (ZH / target).exists():
                broken.append(f"cell {t.cell_id}: {target}")
    assert not broken, f"{name}: links that lead nowhere from notebooks/zh/:\n" + "\n".join(broken)


def test_nbval_does_not_collect_the_chinese_edition():
    """CI checks the English notebooks, the executed source; `pytest --nbval notebooks/` skips notebooks/zh/."""
    import subprocess

    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval", "--nbval-current-env",
                             "-p", "no:cacheprovider", "notebooks/"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120).stdout
    assert "notebooks/00_start_here.ipynb::" in listed and "notebooks/zh/" not in listed, listed[-2000:]
