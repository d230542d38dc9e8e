"""中文版 (the Chinese edition): build notebooks/zh/NN_*.ipynb and run them in Chinese.

    .venv/bin/python notebooks/zh/build.py                 # make zh: every Chinese notebook, run where needed
    .venv/bin/python notebooks/zh/build.py 03_a3c          # only these notebooks
    .venv/bin/python notebooks/zh/build.py --todo 03_a3c   # what 03 still needs translated, with the English diff
    .venv/bin/python notebooks/zh/build.py --status        # what is out of date, and why; changes nothing

A Chinese notebook is the English one with
- each markdown cell replaced by its translation from ``translations/NN_name.md``;
- one code cell in front, tagged ``language``, that calls ``rlteach.set_language("zh")`` (the only code that differs
  from the English notebook: tests/test_zh.py checks it);
- its own outputs: the build runs it top to bottom, so everything the code prints, draws and checks is Chinese
  (through the message catalog, rlteach/messages.py).

Running all nine takes as long as running the English ones (README.zh.md's table), so the build runs a notebook only
when its outputs are out of date. Its metadata (``rlteach_zh``) records what they were made from: the code cells,
the English notebook's outputs (which nbval keeps current: when the package changes what a notebook shows, the
English notebook is re-run, and then so is the Chinese one), the Chinese catalog and rlteach/messages.py.
tests/test_zh.py fails when that record no longer matches. A changed translation only replaces markdown; it never
re-runs anything.

A reader's own run is never overwritten without asking: the record also holds a fingerprint of the outputs the
build wrote. When a reader ran a notebook in ``make lab-zh`` (and it autosaved), the build keeps it and says so;
``--force`` moves the reader's copy to ``notebooks/zh/yours/`` first, then rebuilds.

A translation file holds one block per English markdown cell, with the English it was translated from:

    <!-- cell CELL_ID -->
    <!--en
    the English source, exactly as it was when translated
    en-->
    the cell, in Chinese (markdown)

When the English cell changes, the two English texts differ: the build refuses, tests/test_zh.py names the cell,
and ``--todo`` prints the change as a diff next to the current translation. A header may end with
``except: term, term`` to exempt glossary terms that this cell's translation rightly renders otherwise
(GLOSSARY.md's 中文 column gives each term's Chinese form; tests/test_zh.py checks that they are used).
"""

from __future__ import annotations

import argparse
import difflib
import gettext
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent               # notebooks/zh
ENGLISH = HERE.parent                                # notebooks
ROOT = ENGLISH.parent
TRANSLATIONS = HERE / "translations"
YOURS = HERE / "yours"
CATALOG = ROOT / "rlteach" / "locale" / "zh" / "LC_MESSAGES" / "rlteach.mo"
HEADER = re.compile(r"^<!-- cell (\S+)(?: except: ([^>]*?))? -->\n<!--en\n(.*?)\nen-->\n", re.M | re.S)
LANGUAGE_CELL = {
    "cell_type": "code", "execution_count": None, "id": "zh-language",
    "metadata": {"tags": ["language"]}, "outputs": [],
    "source": ["# 中文版：这一格让本笔记本的输出、图和检查器都说中文（英文版没有这一格）\n",
               "import rlteach\n",
               "\n",
               "rlteach.set_language(\"zh\")"],
}


@dataclass
class Translation:
    cell_id: str
    english: str          # the English source it was translated from
    text: str             # the Chinese
    exceptions: tuple


def source_of(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def english_notebooks() -> list:
    return sorted(ENGLISH.glob("[0-9][0-9]_*.ipynb"))


def read_translations(name: str) -> dict:
    """Cell id -> Translation, from ``translations/<name>.md`` (empty when the file does not exist).
    Refuses a file where a cell has two blocks (the second would silently win) or text outside any block."""
    path = TRANSLATIONS / f"{name}.md"
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    heads = list(HEADER.finditer(text))
    if text[:heads[0].start() if heads else len(text)].strip():
        raise ValueError(f"{path.name}: text before the first block (each block starts '<!-- cell ID -->' "
                         "and the English between '<!--en' and 'en-->')")
    out = {}
    for head, following in zip(heads, heads[1:] + [None], strict=True):
        cell_id = head.group(1)
        if cell_id in out:
            raise ValueError(f"{path.name}: cell {cell_id} has two translations; keep one")
        body = text[head.end():following.start() if following else len(text)].strip("\n")
        exceptions = tuple(t.strip() for t in (head.group(2) or "").split(",") if t.strip())
        out[cell_id] = Translation(cell_id, head.group(3), body, exceptions)
    return out


def first_words(text: str, n=8) -> str:
    return " ".join(text.split()[:n])


def problems(notebook: Path, translations: dict) -> list:
    """Why ``notebook`` cannot be built yet: markdown cells with no translation, or changed since it was made."""
    found = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text, t = source_of(cell), translations.get(cell["id"])
        if t is None:
            found.append(f"{notebook.name}: cell {cell['id']} has no translation: \"{first_words(text)} ...\"")
        elif t.english != text:
            found.append(f"{notebook.name}: cell {cell['id']} changed after its translation was made: "
                         f"\"{first_words(text)} ...\" (--todo {notebook.stem} shows the change)")
    return found


# ---- what a Chinese notebook's outputs were made from --------------------------------------------------------

def _sha(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def _outputs(cells) -> list:
    """Every code cell's outputs, as nbformat reads them (multi-line strings joined), without execution counts."""
    def joined(x):
        if isinstance(x, dict):
            return {k: joined(v) for k, v in x.items() if k != "execution_count"}
        if isinstance(x, list) and all(isinstance(s, str) for s in x):
            return "".join(x)
        return [joined(v) for v in x] if isinstance(x, list) else x
    return [joined(c.get("outputs", [])) for c in cells if c["cell_type"] == "code"]


def catalog_fingerprint() -> str:
    """The Chinese messages themselves (not the .mo's dates): what changes what the Chinese notebooks show."""
    with open(CATALOG, "rb") as f:
        messages = gettext.GNUTranslations(f)._catalog
    return _sha(sorted((str(k), v) for k, v in messages.items() if k != ""))


def made_from(english: dict, catalog: str) -> str:
    """The fingerprint of what a Chinese notebook's outputs are made from: its code, the English notebook's
    outputs, the catalog, and rlteach/messages.py (how every Chinese message is looked up and set)."""
    code = [source_of(c) for c in english["cells"] if c["cell_type"] == "code"]
    messages = (ROOT / "rlteach" / "messages.py").read_text(encoding="utf-8")
    return _sha(source_of(LANGUAGE_CELL), code, _outputs(english["cells"]), catalog, messages)


def record(zh: dict) -> dict:
    return zh.get("metadata", {}).get("rlteach_zh", {})


def reader_ran(zh: dict) -> bool:
    """True when the outputs are no longer those the build wrote (a reader ran the notebook and it saved)."""
    return bool(record(zh)) and record(zh).get("outputs") != _sha(_outputs(zh["cells"]))


# ---- building ---------------------------------------------------------------------------------------------------

def with_translations(english: dict, translations: dict, outputs_from: dict | None) -> dict:
    """The Chinese notebook: markdown translated, the language cell in front, code cells with the outputs of
    ``outputs_from`` (an earlier Chinese notebook of the same code) or none."""
    old = {c["id"]: c for c in (outputs_from or {}).get("cells", []) if c["cell_type"] == "code"}
    cells = [json.loads(json.dumps(LANGUAGE_CELL))]
    for cell in english["cells"]:
        cell = json.loads(json.dumps(cell))
        if cell["cell_type"] == "markdown":
            cell["source"] = translations[cell["id"]].text.splitlines(True)
        else:
            cell["outputs"], cell["execution_count"] = [], None
            if cell["id"] in old:
                cell["outputs"] = old[cell["id"]].get("outputs", [])
                cell["execution_count"] = old[cell["id"]].get("execution_count")
        cells.append(cell)
    if "zh-language" in old:
        cells[0]["outputs"] = old["zh-language"].get("outputs", [])
        cells[0]["execution_count"] = old["zh-language"].get("execution_count")
    metadata = json.loads(json.dumps(english["metadata"]))
    metadata.pop("widgets", None)
    if outputs_from is not None and record(outputs_from):
        metadata["rlteach_zh"] = record(outputs_from)
    return {**english, "cells": cells, "metadata": metadata}


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def run(path: Path) -> float:
    """Execute ``path`` in place, top to bottom, as workbook_times.py runs the English ones; the seconds it took."""
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
               "--ExecutePreprocessor.timeout=900", "--ExecutePreprocessor.kernel_name=python3",
               "--ExecutePreprocessor.store_widget_state=False", str(path)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{path.name} failed in Chinese:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def status(name: str, catalog: str) -> str:
    """"current", "markdown" (only translations changed), "run" (outputs out of date) or "missing"."""
    english = json.loads((ENGLISH / f"{name}.ipynb").read_text(encoding="utf-8"))
    path = HERE / f"{name}.ipynb"
    if not path.exists():
        return "missing"
    zh = json.loads(path.read_text(encoding="utf-8"))
    if record(zh).get("made_from") != made_from(english, catalog):
        return "run"
    made = with_translations(english, read_translations(name), zh)
    same = [source_of(a) for a in made["cells"]] == [source_of(b) for b in zh["cells"]]
    return "current" if same else "markdown"


def build_one(name: str, catalog: str, force: bool) -> str:
    english = json.loads((ENGLISH / f"{name}.ipynb").read_text(encoding="utf-8"))
    translations = read_translations(name)
    found = problems(ENGLISH / f"{name}.ipynb", translations)
    if found:
        raise ValueError("cannot build the Chinese edition:\n  " + "\n  ".join(found))
    path, state = HERE / f"{name}.ipynb", status(name, catalog)
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    if state == "current":
        return f"{name}: current"
    if state == "markdown":
        path.write_text(dumps(with_translations(english, translations, old)), encoding="utf-8")
        return f"{name}: translations updated (outputs kept)"
    if old is not None and reader_ran(old):
        if not force:
            return (f"{name}: NOT rebuilt: it holds your own run (its outputs changed since `make zh` wrote them). "
                    f"`make zh FORCE=1` moves your copy to notebooks/zh/yours/{name}.ipynb, then rebuilds")
        YOURS.mkdir(exist_ok=True)
        shutil.copy2(path, YOURS / f"{name}.ipynb")
    zh = with_translations(english, translations, None)
    path.write_text(dumps(zh), encoding="utf-8")
    seconds = run(path)
    zh = json.loads(path.read_text(encoding="utf-8"))
    zh["metadata"].pop("widgets", None)
    zh["metadata"]["rlteach_zh"] = {"made_from": made_from(english, catalog), "outputs": _sha(_outputs(zh["cells"])),
                                    "run_seconds": round(seconds)}
    path.write_text(dumps(zh), encoding="utf-8")
    return f"{name}: run in Chinese in {seconds:.0f} s"


# ---- README.zh.md ---------------------------------------------------------------------------------------------
# Built like a notebook: translations/README.md holds one block per section of README.md ("top" before the first
# "## " heading, then each heading's words), with the English it was made from. README.md's generated regions
# (<!-- NAME:start --> ... <!-- NAME:end -->, written by the benchmark scripts) stand as <!-- NAME --> in both; the
# build puts them in: the times table in Chinese, with the Chinese notebooks' own run times; the others as the
# scripts wrote them (English, as README.zh.md says).

README, README_ZH = ROOT / "README.md", ROOT / "README.zh.md"
REGION = re.compile(r"<!-- (\w+):start -->\n.*?<!-- \1:end -->", re.S)
SECTION = re.compile(r"<!-- section (\S+) -->\n<!--en\n(.*?)\nen-->\n", re.S)


def readme_sections(text: str) -> dict:
    """Section key -> its English, generated regions folded to <!-- NAME -->."""
    text = REGION.sub(lambda m: f"<!-- {m.group(1)} -->", text)
    parts = re.split(r"^(?=## )", text, flags=re.M)
    out = {"top": parts[0].strip("\n")}
    for part in parts[1:]:
        heading = part.splitlines()[0][3:]
        out[re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")] = part.strip("\n")
    return out


def readme_translations() -> dict:
    text = (TRANSLATIONS / "README.md").read_text(encoding="utf-8")
    heads, out = list(SECTION.finditer(text)), {}
    for head, following in zip(heads, heads[1:] + [None], strict=True):
        if head.group(1) in out:
            raise ValueError(f"translations/README.md: section {head.group(1)} has two translations; keep one")
        out[head.group(1)] = (head.group(2), text[head.end():following.start() if following else len(text)].strip("\n"))
    return out


def readme_problems() -> list:
    """Sections of README.md without a translation, or changed since it was made (and translations of sections
    README.md no longer has)."""
    sections, translations, found = readme_sections(README.read_text(encoding="utf-8")), readme_translations(), []
    for key, english in sections.items():
        if key not in translations:
            found.append(f"section {key} has no translation: \"{first_words(english)} ...\"")
        elif translations[key][0] != english:
            diff = "".join(difflib.unified_diff(translations[key][0].splitlines(True), english.splitlines(True),
                                                "translated from", "README.md now", n=0))
            found.append(f"section {key} changed after its translation was made:\n{diff}")
    found += [f"section {key} is no longer in README.md" for key in translations if key not in sections]
    return found


TIMES_WORDS = [("| notebook | reading (estimate) | run (measured) |",
                "| 笔记本 | 阅读（估计） | 运行英文版（实测） | 运行中文版（`make zh` 实测） |"),
               ("|---|---|---|", "|---|---|---|---|"),
               ("**the whole workbook**", "**整本练习册**"),
               ("`make test` from a fresh clone (installs, a 2-node Ray cluster, every notebook)",
                "在新克隆上运行 `make test`（安装、双节点 Ray 集群、每个英文笔记本）")]


def times_zh(region: str) -> str:
    """README.md's times table in Chinese, with a column for the Chinese notebooks' run times."""
    zh_seconds = {}
    for path in sorted(HERE.glob("[0-9][0-9]_*.ipynb")):
        seconds = record(json.loads(path.read_text(encoding="utf-8"))).get("run_seconds")
        if seconds is not None:
            zh_seconds[path.stem] = seconds
    lines = []
    for line in region.splitlines():
        for en, zh in TIMES_WORDS:
            line = line.replace(en, zh)
        row = re.match(r"^\| `(\d\d_\w+)` \| (.*) \|$", line)
        if row:
            seconds = zh_seconds.get(row.group(1))
            line = f"| `{row.group(1)}` | {row.group(2)} | {'—' if seconds is None else f'{seconds} s'} |"
        elif line.startswith("| **整本练习册**"):
            line = f"{line} **{sum(zh_seconds.values()) / 60:.1f} min** |" if zh_seconds else f"{line} — |"
        elif line.startswith("| 在新克隆上"):
            line = f"{line} |"
        elif line.startswith("Reading:"):
            run = re.search(r"Run: one notebook at a time, (\d+) cores?, python (\S+), (\S+)\.", line)
            line = ("阅读时间按英文版估计：每分钟 150 个词的正文、15 行代码，每张图 0.5 分钟，每个练习 5 分钟。"
                    "运行时间：一次运行一个笔记本，{} 个核心，Python {}，{}。".format(*run.groups()) if run else line)
        lines.append(re.sub(r"(\d) min\b", r"\1 分钟", re.sub(r"(\d) h\b", r"\1 小时", line)))
    return "\n".join(lines)


def readme_zh() -> str:
    """README.zh.md as the build makes it: the translated sections in README.md's order, its regions put in."""
    english, translations = README.read_text(encoding="utf-8"), readme_translations()
    regions = {m.group(1): m.group(0) for m in REGION.finditer(english)}
    parts = []
    for key in readme_sections(english):
        text = translations[key][1] if key in translations else f"<!-- section {key}: not translated yet -->"
        for name, region in regions.items():
            body = region.split("\n", 1)[1].rsplit("\n", 1)[0]
            text = text.replace(f"<!-- {name} -->", times_zh(body) if name == "times" else body)
        parts.append(text)
    return "\n\n".join(parts) + "\n"


def shows_code(cell) -> bool:
    """A code cell that prints source code or a docstring (the package's code and its documentation stay English)."""
    return any(call in source_of(cell) for call in ("getsource(", "getdoc(", "help("))


def english_share(nb: dict) -> dict:
    """How much of what a reader sees is English: words in the markdown's prose and in the printed outputs (code,
    math, link targets and identifiers left out; a Chinese word counted as two characters)."""
    def words(text):
        text = re.sub(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|<!--.*?-->|\]\([^)]*\)|https?://\S+", " ", text,
                      flags=re.S)
        text = re.sub(r"\S*[_=:/.(){}\[\]]\S*", " ", text)          # identifiers, paths, calls, reprs
        return len(re.findall(r"[A-Za-z][A-Za-z'-]+", text)), len(re.findall(r"[\u3400-\u9fff]", text)) / 2
    counts = {"markdown": [0, 0], "outputs": [0, 0]}
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            english, chinese = words(source_of(cell))
            counts["markdown"][0] += english
            counts["markdown"][1] += chinese
        elif not shows_code(cell):
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                shown = ("text/markdown",) if "image/png" in data else ("text/plain", "text/markdown")  # a figure: its
                texts = [out.get("text", "")] + [data.get(k, "") for k in shown]                    # repr is unseen
                english, chinese = words("".join("".join(t) if isinstance(t, list) else t for t in texts))
                counts["outputs"][0] += english
                counts["outputs"][1] += chinese
    return {part: english / (english + chinese) if english + chinese else 0.0 for part, (english, chinese) in
            counts.items()} | {"all": sum(c[0] for c in counts.values()) / max(1, sum(sum(c) for c in counts.values()))}


def todo(name: str) -> str:
    """Each cell of ``name`` that needs a (new) translation: the block to write, and for a changed cell the
    English diff and the translation it had."""
    notebook = ENGLISH / f"{name}.ipynb"
    translations, parts = read_translations(name), []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        t, text = translations.get(cell["id"]), source_of(cell)
        if t is not None and t.english == text:
            continue
        block = f"<!-- cell {cell['id']} -->\n<!--en\n{text}\nen-->\n"
        if t is None:
            parts.append(f"{block}(translate)\n")
        else:
            diff = "".join(difflib.unified_diff(t.english.splitlines(True), text.splitlines(True),
                                                "translated from", "the English now", n=1))
            parts.append(f"{block}{t.text}\n\n<!-- what changed in the English:\n{diff}-->\n")
    return "\n".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NN_name", help="only these notebooks (default: all)")
    parser.add_argument("--todo", metavar="NN_name", help="print what this notebook still needs, and build nothing")
    parser.add_argument("--status", action="store_true", help="say what is out of date, and build nothing")
    parser.add_argument("--share", nargs="?", const=str(HERE), metavar="DIR", help="print the share of English "
                        "in each Chinese notebook (of DIR, default notebooks/zh), and build nothing")
    parser.add_argument("--readme", action="store_true", help="only rebuild README.zh.md (the benchmark scripts' "
                        "make targets run this after they rewrite README.md's regions)")
    parser.add_argument("--force", action="store_true", help="rebuild even a notebook a reader has run "
                        "(their copy goes to notebooks/zh/yours/ first)")
    args = parser.parse_args(argv)
    if args.todo:
        print(todo(args.todo), end="")
        return 0
    if args.readme:
        found = readme_problems()
        if found:           # a section's English changed: the translation comes first (README.zh.md is left as is)
            print("README.zh.md not rebuilt: translate these in notebooks/zh/translations/README.md\n  " +
                  "\n  ".join(found))
        else:
            README_ZH.write_text(readme_zh(), encoding="utf-8")
        return 0
    names = args.names or [p.stem for p in english_notebooks()]
    if args.share:
        print("| notebook | English in the prose | in the outputs | in all |\n|---|---|---|---|")
        for name in names:
            share = english_share(json.loads((Path(args.share) / f"{name}.ipynb").read_text(encoding="utf-8")))
            print(f"| `{name}` | {share['markdown']:.0%} | {share['outputs']:.0%} | {share['all']:.0%} |")
        return 0
    catalog = catalog_fingerprint()
    if args.status:
        for name in names:
            print(f"{name}: {status(name, catalog)}")
        return 0
    failed = [f"README.zh.md: {p}" for p in readme_problems()]
    if not failed and not args.names:
        README_ZH.write_text(readme_zh(), encoding="utf-8")
    for name in names:
        try:
            print(build_one(name, catalog, args.force), flush=True)
        except (ValueError, RuntimeError) as error:
            failed.append(str(error))
    if failed:
        print("\n".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
