"""中文版 (the Chinese edition): build notebooks/zh/NN_*.ipynb from the English notebook and its translation file.

    .venv/bin/python notebooks/zh/build.py              # make zh: build every Chinese notebook
    .venv/bin/python notebooks/zh/build.py --todo 03_a3c   # what 03 still needs: each cell's header and English

The English notebooks are the executed, checked source. A Chinese notebook is the English one with each markdown
cell replaced by its translation; code cells and their outputs are copied unchanged, so the Chinese edition is
never executed on its own (CI runs nbval on the English notebooks only).

A translation file, ``notebooks/zh/translations/NN_name.md``, holds one block per English markdown cell:

    <!-- cell CELL_ID en:HASH -->
    the cell, in Chinese (markdown)

``CELL_ID`` is the English cell's id and ``HASH`` the first 12 hex digits of the SHA-256 of the English source it
was translated from (``--todo`` prints both). When the English cell changes, its hash no longer matches: the
build refuses, and tests/test_zh.py names the notebook, the cell and its first words. A block may end its header
with ``except: term, term`` to exempt glossary terms that this cell's translation rightly renders otherwise
(GLOSSARY.md's 中文 column gives each term's Chinese form; tests/test_zh.py checks that they are used).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent               # notebooks/zh
ENGLISH = HERE.parent                                # notebooks
TRANSLATIONS = HERE / "translations"
HEADER = re.compile(r"^<!-- cell (\S+) en:([0-9a-f]{12})(?: except: ([^>]*?))? -->$", re.M)


@dataclass
class Translation:
    cell_id: str
    en_hash: str
    text: str
    exceptions: tuple


def source_of(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def en_hash(text: str) -> str:
    """The fingerprint a translation records of the English source it was made from."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def english_notebooks() -> list:
    return sorted(ENGLISH.glob("[0-9][0-9]_*.ipynb"))


def read_translations(name: str) -> dict:
    """Cell id -> Translation, from ``translations/<name>.md`` (empty when the file does not exist)."""
    path = TRANSLATIONS / f"{name}.md"
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    heads = list(HEADER.finditer(text))
    out = {}
    for head, following in zip(heads, heads[1:] + [None], strict=True):
        body = text[head.end():following.start() if following else len(text)].strip("\n")
        exceptions = tuple(t.strip() for t in (head.group(3) or "").split(",") if t.strip())
        out[head.group(1)] = Translation(head.group(1), head.group(2), body, exceptions)
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
        elif t.en_hash != en_hash(text):
            found.append(f"{notebook.name}: cell {cell['id']} changed after its translation was made "
                         f"(en:{t.en_hash}, now en:{en_hash(text)}): \"{first_words(text)} ...\"")
    return found


def build(notebook: Path, translations: dict) -> dict:
    """The Chinese notebook: ``notebook`` with every markdown cell replaced by its translation."""
    found = problems(notebook, translations)
    if found:
        raise ValueError("cannot build the Chinese edition:\n  " + "\n  ".join(found))
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    zh = copy.deepcopy(nb)
    for cell in zh["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = translations[cell["id"]].text.splitlines(True)
    return zh


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def todo(name: str) -> str:
    """Each cell of ``name`` that needs a (new) translation: the header to use, then the English source."""
    notebook = ENGLISH / f"{name}.ipynb"
    translations, parts = read_translations(name), []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        t = translations.get(cell["id"])
        if cell["cell_type"] == "markdown" and (t is None or t.en_hash != en_hash(source_of(cell))):
            parts.append(f"<!-- cell {cell['id']} en:{en_hash(source_of(cell))} -->\n{source_of(cell)}\n")
    return "\n".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--todo", metavar="NN_name", help="print what this notebook still needs, and build nothing")
    args = parser.parse_args(argv)
    if args.todo:
        print(todo(args.todo), end="")
        return 0
    start, failed = time.perf_counter(), []
    for notebook in english_notebooks():
        translations = read_translations(notebook.stem)
        found = problems(notebook, translations)
        if found:
            failed += found
            continue
        (HERE / notebook.name).write_text(dumps(build(notebook, translations)), encoding="utf-8")
    if failed:
        print("not built (translate these cells; --todo NN_name prints them):\n  " + "\n  ".join(failed))
        return 1
    print(f"built {len(english_notebooks())} Chinese notebooks in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
