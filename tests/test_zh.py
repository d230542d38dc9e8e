"""The Chinese edition (notebooks/zh/, README.zh.md) cannot silently fall behind the English one, nor half-translate.

Fails when
- an English markdown cell has no translation, or changed after its translation was made (the translation keeps the
  English it was made from: ``notebooks/zh/build.py --todo NN_name`` shows the change as a diff);
- a translation file has two blocks for one cell, or a translated cell is mostly English;
- a Chinese notebook's markdown is not its translations, or its code differs from the English notebook's (beyond the
  one ``language`` cell that makes it speak Chinese);
- a Chinese notebook's outputs were not made from the current code, English outputs and Chinese catalog
  (``make zh`` runs it again), or they contain an English sentence;
- a glossary term of an English cell has no Chinese form in its translation, or a translation (or the catalog, or
  README.zh.md) uses a term the edition has replaced (GLOSSARY.md, "One term per concept");
- README.zh.md is behind README.md, or a relative link leads nowhere.
A reader's own run of a Chinese notebook (``make lab-zh`` autosaves it) breaks none of these, and ``make zh`` keeps it.
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
CJK = r"[\u3400-\u9fff]"


def english(name) -> dict:
    return json.loads((build.ENGLISH / f"{name}.ipynb").read_text(encoding="utf-8"))


def chinese(name) -> dict:
    return json.loads((ZH / f"{name}.ipynb").read_text(encoding="utf-8"))


def test_every_english_notebook_is_covered():
    assert len(NOTEBOOKS) == 9 and {p.stem for p in ZH.glob("[0-9][0-9]_*.ipynb")} == set(NOTEBOOKS)


# ---- translations: current, whole, and Chinese -------------------------------------------------------------------

@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_markdown_cell_has_a_current_translation(name):
    found = build.problems(build.ENGLISH / f"{name}.ipynb", build.read_translations(name))
    assert not found, "the Chinese edition is behind:\n" + "\n".join(found)


def block(cell_id, english_text, chinese_text):
    return f"<!-- cell {cell_id} -->\n<!--en\n{english_text}\nen-->\n{chinese_text}\n"


@pytest.fixture
def translations_in(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "TRANSLATIONS", tmp_path)
    return tmp_path


def test_a_changed_english_cell_is_caught_and_todo_shows_the_change(translations_in):
    name = NOTEBOOKS[1]
    cells = [c for c in english(name)["cells"] if c["cell_type"] == "markdown"]
    first = cells[0]
    old = build.source_of(first).replace("advantage", "edge", 1)          # what it was "translated from"
    (translations_in / f"{name}.md").write_text(block(first["id"], old, "旧的译文"), encoding="utf-8")
    found = build.problems(build.ENGLISH / f"{name}.ipynb", build.read_translations(name))
    assert any(first["id"] in f and "changed after its translation" in f for f in found)
    shown = build.todo(name)
    assert "-" + old.splitlines()[0] in shown and "+" + build.source_of(first).splitlines()[0] in shown
    assert "旧的译文" in shown                              # the translation to update sits next to the diff


def test_a_cell_translated_twice_is_refused(translations_in):
    (translations_in / "x.md").write_text(block("c1", "One.", "一。") + "\n" + block("c1", "One.", "壹。"),
                                          encoding="utf-8")
    with pytest.raises(ValueError, match="two translations"):
        build.read_translations("x")


def share_of_chinese(markdown: str) -> float:
    """Chinese words (two characters each, roughly) over all words, in a cell's prose: outside code, math, links,
    and the references' authors and italic titles, which stay as published."""
    text = prose(markdown)
    text = re.sub(r"\*[^*\n]+\*|^\s*[*-] [^(\n]*\((?:19|20)\d\d\)", " ", text, flags=re.M)
    chinese_words, english_words = len(re.findall(CJK, text)) / 2, len(re.findall(r"[A-Za-z][A-Za-z'-]*", text))
    return chinese_words / (chinese_words + english_words) if chinese_words + english_words else 1.0


def test_share_of_chinese_catches_a_half_translated_cell():
    assert share_of_chinese("这是 the whole paragraph left in English by mistake, with one character.") < 0.5
    assert share_of_chinese("学习者（learner）把经验变成梯度步，再把新的权重发给执行者（actor）。") > 0.8


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_translated_cell_is_mostly_chinese(name):
    low = [f"cell {t.cell_id}: {share_of_chinese(t.text):.0%} Chinese: \"{build.first_words(t.text)} ...\""
           for t in build.read_translations(name).values()
           if share_of_chinese(t.text) < 0.6 and not t.text.startswith("## 参考文献")]   # papers keep their titles
    assert not low, f"{name}: translated cells that are mostly English:\n" + "\n".join(low)


# ---- the built notebooks: their translations, the English code, outputs made from it -----------------------------

@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_chinese_notebook_is_the_translations_and_the_english_code(name):
    en, zh, translations = english(name), chinese(name), build.read_translations(name)
    first, rest = zh["cells"][0], zh["cells"][1:]
    assert first["id"] == "zh-language" and first["metadata"].get("tags") == ["language"]
    assert build.source_of(first) == build.source_of(build.LANGUAGE_CELL), "the language cell is the build's"
    assert [(c["id"], c["cell_type"]) for c in rest] == [(c["id"], c["cell_type"]) for c in en["cells"]]
    for e, z in zip(en["cells"], rest, strict=True):
        if e["cell_type"] == "code":
            assert build.source_of(z) == build.source_of(e), f"{name}: code cell {e['id']} differs from the English"
        else:
            assert build.source_of(z) == translations[e["id"]].text, f"run `make zh`: {name} cell {e['id']}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_outputs_were_made_from_the_current_code_and_catalog(name):
    made = build.record(chinese(name)).get("made_from")
    assert made == build.made_from(english(name), build.catalog_fingerprint()), (
        f"run `make zh`: notebooks/zh/{name}.ipynb's outputs were made from other code, English outputs or "
        "Chinese messages than today's (it runs the notebook in Chinese)")


# An English sentence: four or more plain words in a row. Names that are English in Chinese text too are removed first.
NAMES = r"Stable-Baselines3|Noto Sans CJK SC|Blind Cliffwalk|Ape-X|Hogwild|CartPole|Gymnasium|PyTorch|Ray|SEED RL"
SENTENCE = re.compile(r"(?<![\w./:=-])(?:[A-Za-z][a-z']+ ){3,}[A-Za-z][a-z']+(?![\w/(:=-])")


def english_sentences(text: str) -> list:
    text = re.sub(NAMES, " ", text)
    return [m.group(0) for m in SENTENCE.finditer(text)]


def test_the_english_sentence_finder_finds_sentences_not_code():
    assert english_sentences("processes were ahead of threads (1.2 vs 1.0)") == ["processes were ahead of threads"]
    assert english_sentences("进程领先于线程（1.2 vs 1.0）；Config(num_workers=4, backend='process')") == []


# Where a Chinese notebook rightly shows English: an error message (errors stay English: they name code and are
# searched for on the web), a docstring, a library's own log line.
ENGLISH_ON_PURPOSE = {
    ("06_scaling_out", "scaling-54"): "prints the error Ray's resource check raised",
}
LIBRARY_LOG = re.compile(r"^\s*\((?:raylet|pid=|\w+ pid=)[^)]*\).*$", re.M)


def shown_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(build.source_of({"source": out["text"]}))
        for kind in ("text/plain", "text/markdown"):
            if kind in out.get("data", {}):
                parts.append(build.source_of({"source": out["data"][kind]}))
    return LIBRARY_LOG.sub(" ", "\n".join(parts))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_chinese_outputs_have_no_english_sentence(name):
    found = [f"cell {c['id']}: {s!r}" for c in chinese(name)["cells"] if c["cell_type"] == "code"
             and not build.shows_code(c) and (name, c["id"]) not in ENGLISH_ON_PURPOSE
             for s in english_sentences(shown_text(c))]
    assert not found, f"{name}: English in the Chinese notebook's outputs (a message without tr, or untranslated):\n" \
        + "\n".join(found[:40])


def test_english_on_purpose_lists_only_cells_that_need_it():
    for (name, cell_id), why in ENGLISH_ON_PURPOSE.items():
        cell = next(c for c in chinese(name)["cells"] if c["id"] == cell_id)
        assert english_sentences(shown_text(cell)), f"{name} cell {cell_id} ({why}) shows no English now: unlist it"


def test_a_readers_run_breaks_nothing_and_is_kept(tmp_path, monkeypatch):
    """make lab-zh autosaves a reader's run: the checks above still pass, and make zh keeps it (or, forced, moves
    it to notebooks/zh/yours/ first)."""
    name = NOTEBOOKS[1]
    zh = chinese(name)
    code = next(c for c in zh["cells"] if c["cell_type"] == "code" and c["id"] != "zh-language")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["读者自己运行的结果\n"]}]
    code["execution_count"] = 99
    assert build.reader_ran(zh) and not build.reader_ran(chinese(name))
    monkeypatch.setattr(build, "HERE", tmp_path)
    monkeypatch.setattr(build, "YOURS", tmp_path / "yours")
    ran = []
    monkeypatch.setattr(build, "run", lambda path: ran.append(path) or 1.0)
    zh["metadata"]["rlteach_zh"] = {**zh["metadata"]["rlteach_zh"], "made_from": "stale"}  # so it needs a run
    mine = build.dumps(zh)
    (tmp_path / f"{name}.ipynb").write_text(mine, encoding="utf-8")
    catalog = build.catalog_fingerprint()
    said = build.build_one(name, catalog, force=False)
    assert "NOT rebuilt" in said and not ran and (tmp_path / f"{name}.ipynb").read_text(encoding="utf-8") == mine
    said = build.build_one(name, catalog, force=True)
    assert ran and (tmp_path / "yours" / f"{name}.ipynb").read_text(encoding="utf-8") == mine


# ---- terms ---------------------------------------------------------------------------------------------------------

def glossary() -> list:
    """(English term, its Chinese forms) from GLOSSARY.md's term tables: the English column split at commas,
    math, code and parenthesised parts dropped; the 中文 column gives one entry per term, "a / b" for either."""
    pairs = []
    for line in (ROOT / "GLOSSARY.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 4 or cells[0] in ("term", "concept") or set(cells[0]) <= set("-"):
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


def chinese_forms(forms: list) -> list:
    """The forms that count as a translation: the Chinese ones and the acronyms where the glossary gives any
    ("执行者 / actor": only 执行者; "马尔可夫决策过程 / MDP": either), else the form itself (logits stays logits)."""
    return [f for f in forms if re.search(CJK, f) or re.fullmatch(r"[A-Z][A-Z0-9-]+", f)] or forms


def without_code_and_math(markdown: str) -> str:
    """A markdown cell with its code blocks, inline code and math blanked out."""
    return re.sub(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", " ", markdown, flags=re.S)


def prose(markdown: str) -> str:
    """The words of a markdown cell outside code, math, HTML comments and link targets."""
    return re.sub(r"<!--.*?-->|\]\([^)]*\)|<https?://[^>]*>", " ", without_code_and_math(markdown), flags=re.S)


def test_the_glossary_gives_every_term_a_chinese_form():
    pairs = glossary()
    assert len(pairs) > 90 and all(forms and all(forms) for _, forms in pairs)
    assert chinese_forms(["执行者", "actor"]) == ["执行者"]          # the English form alone does not pass
    assert chinese_forms(["A2C"]) == ["A2C"]
    assert chinese_forms(["马尔可夫决策过程", "MDP"]) == ["马尔可夫决策过程", "MDP"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_glossary_terms_keep_their_chinese_form(name):
    pairs, missing = glossary(), []
    translations = build.read_translations(name)
    for cell in english(name)["cells"]:
        t = translations.get(cell["id"])
        if cell["cell_type"] != "markdown" or t is None:
            continue
        english_prose, chinese_text = prose(build.source_of(cell)), t.text.lower()
        for term, forms in pairs:
            if term in t.exceptions or not re.search(rf"(?<![\w-]){re.escape(term)}(?:s|es)?(?![\w-])",
                                                     english_prose, re.I):
                continue
            if not any(form.lower() in chinese_text for form in chinese_forms(forms)):
                missing.append(f"cell {cell['id']}: {term!r} -> one of {chinese_forms(forms)}")
    assert not missing, f"{name}: glossary terms without their Chinese form (or list them after 'except:'):\n" + \
        "\n".join(missing)


# GLOSSARY.md's "One term per concept": each concept's one Chinese term, and what the edition no longer says.
ONE_TERM = {
    "same-step autoreset": ("当步自动重置", r"同步自动重置"),
    "wall clock": ("墙钟", r"挂钟"),
    "checker": ("检查器", r"检查程序"),
    "core (of a CPU)": ("核心", r"(?<![内结])核(?![心对查实算])"),
    "to step an env": ("步进", r"推进"),
}


def everything_chinese() -> dict:
    """Where Chinese text lives: each translation file, the catalog, README.zh.md's own text."""
    texts = {f"translations/{p.name}": p.read_text(encoding="utf-8")
             for p in sorted((ZH / "translations").glob("*.md"))}
    po = ROOT / "rlteach" / "locale" / "zh" / "LC_MESSAGES" / "rlteach.po"
    texts["rlteach.po"] = "\n".join(re.findall(r'^msgstr "(.*)"$', po.read_text(encoding="utf-8"), re.M))
    texts["README.zh.md"] = (ROOT / "README.zh.md").read_text(encoding="utf-8")
    return texts


def test_one_term_per_concept_is_listed_in_the_glossary():
    text = (ROOT / "GLOSSARY.md").read_text(encoding="utf-8")
    section = text[text.index("## One term per concept"):]
    for concept, (term, _) in ONE_TERM.items():
        assert re.search(rf"^\| {re.escape(concept)} \| {term} \|", section, re.M), concept


@pytest.mark.parametrize("concept", list(ONE_TERM))
def test_the_edition_uses_one_term_per_concept(concept):
    term, replaced = ONE_TERM[concept]
    found = [f"{where}: ...{text[max(m.start() - 8, 0):m.end() + 8]}..." for where, text in everything_chinese().items()
             for m in re.finditer(replaced, without_code_and_math(text))]
    assert not found, f"{concept}: the edition says {term}; these still say otherwise:\n" + "\n".join(found)


# ---- README.zh.md, links, nbval ----------------------------------------------------------------------------------

def test_readme_zh_is_in_step_with_readme():
    found = build.readme_problems()
    assert not found, "README.zh.md is behind README.md:\n" + "\n".join(found)


def test_a_changed_readme_section_is_caught(tmp_path, monkeypatch):
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    changed = english.replace("## More\n", "## More\n\n- A new line nobody translated yet.\n", 1)
    assert changed != english
    (tmp_path / "README.md").write_text(changed, encoding="utf-8")
    monkeypatch.setattr(build, "README", tmp_path / "README.md")
    found = build.readme_problems()
    assert len(found) == 1 and "section more changed" in found[0] and "+- A new line nobody translated yet." in found[0]


def test_readme_zh_is_what_the_build_makes_now():
    assert (ROOT / "README.zh.md").read_text(encoding="utf-8") == build.readme_zh(), "run `make zh`"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_relative_links_of_a_translation_lead_somewhere(name):
    broken = []
    for t in build.read_translations(name).values():
        for target in re.findall(r"\]\(([^)\s#]+)", without_code_and_math(t.text)):
            if not re.match(r"[a-z]+:", target) and not (ZH / target).exists():
                broken.append(f"cell {t.cell_id}: {target}")
    assert not broken, f"{name}: links that lead nowhere from notebooks/zh/:\n" + "\n".join(broken)


def test_nbval_does_not_collect_the_chinese_edition():
    """CI checks the English notebooks with nbval; the Chinese ones are proven current above instead
    (`pytest --nbval notebooks/` skips notebooks/zh/)."""
    import subprocess

    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--nbval", "--nbval-current-env",
                             "-p", "no:cacheprovider", "notebooks/"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120).stdout
    assert "notebooks/00_start_here.ipynb::" in listed and "notebooks/zh/" not in listed, listed[-2000:]
