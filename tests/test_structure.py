"""The shape of the package: no import cycle among rlteach's modules (imports inside functions count), no file
over 400 lines, and notebooks that need nothing but the installed package and its dependencies."""

import ast
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rlteach"
MODULES = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
           for p in PACKAGE.rglob("*.py")}


def rlteach_imports(path) -> set:
    """Every rlteach module the file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("rlteach")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rlteach"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES}
    return {m for m in found if m in MODULES}


def test_no_import_cycle_among_rlteach_modules():
    graph = {name: rlteach_imports(path) - {name} for name, path in MODULES.items()}
    # a package's __init__ importing its own submodules is not a cycle between rooms; drop those edges
    graph = {name: {m for m in deps if not m.startswith(name + ".")} for name, deps in graph.items()}
    state, stack = {}, []

    def visit(name):
        state[name] = "open"
        stack.append(name)
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_no_file_in_the_package_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"split these (a reader should take in a file in one sitting): {long}"


ALLOWED = {"rlteach", "numpy", "torch", "gymnasium", "matplotlib", "ipywidgets", "IPython", "ray", "tqdm"}


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_a_notebook_imports_only_the_package_and_its_dependencies(notebook):
    """So it runs from a plain ``pip install .`` anywhere, not only inside a clone (no sys.path tricks)."""
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        assert "sys.path" not in source, f"{notebook.name} changes sys.path:\n{source}"
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        for node in ast.walk(ast.parse("\n".join(lines))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED or top in sys.stdlib_module_names, f"{notebook.name} imports {name}"


def test_nothing_is_used_before_it_is_defined():
    """A reader follows each file top to bottom: a module-level function, class or constant is defined above
    every other top-level statement that uses it (Python would allow a later definition; a reader would not)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        body = ast.parse(path.read_text()).body
        defined_at = {}
        for i, node in enumerate(body):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                names = []
            for name in names:
                defined_at.setdefault(name, (i, node.lineno))
        for i, node in enumerate(body):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and defined_at.get(sub.id, (-1,))[0] > i:
                    found.append(f"{path.relative_to(ROOT)}:{sub.lineno}: {sub.id} (defined at line "
                                 f"{defined_at[sub.id][1]})")
    assert not found, "used before its definition:\n" + "\n".join(sorted(set(found)))


def test_the_layout_names_every_module():
    guide = (ROOT / "CONTRIBUTING.md").read_text()      # the layout moved there from the README
    layout = guide[guide.index("## Layout"):guide.index("\n## ", guide.index("## Layout") + 3)]
    names = {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    names |= {f"{p.name}/" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    missing = sorted(name for name in names if name not in layout)
    assert not missing, f"CONTRIBUTING.md's layout omits {missing}"


def test_the_package_docstring_maps_every_module():
    import rlteach

    names = {p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
    names |= {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    lines = rlteach.__doc__.splitlines()
    missing = sorted(n for n in names if not any(line.split()[:1] == [n] for line in lines))
    assert not missing, f"rlteach/__init__.py's docstring does not map {missing}"


def readable_words(markdown: str) -> list[str]:
    """The words a reader reads: outside ``` fences and HTML comments; table text counts, |---| rows do not."""
    text, kept, fenced = re.sub(r"<!--.*?-->", " ", markdown, flags=re.S), [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
        elif not fenced and not re.fullmatch(r"[\s|:-]*", line):
            kept.append(line)
    return [t for t in " ".join(kept).split() if re.search(r"\w", t)]


def test_the_readme_reads_in_five_minutes():
    readme = (ROOT / "README.md").read_text()
    words = len(readable_words(readme))
    assert words <= 1500, f"README.md has {words} words outside code blocks (at most 1,500: move detail elsewhere)"
    first_screen = "\n".join(readme.splitlines()[:30])
    assert "make lab" in first_screen and "make test" in first_screen, "the two commands belong on the first screen"
    for marker in ("times", "bench", "faults"):          # the scripts in benchmarks/ write between these
        assert f"<!-- {marker}:start -->" in readme and f"<!-- {marker}:end -->" in readme, marker


@pytest.mark.parametrize("name", ["README.md", "README.zh.md", "CONTRIBUTING.md"])
def test_relative_links_of_the_front_pages_lead_somewhere(name):
    text = re.sub(r"```.*?```", "", (ROOT / name).read_text(), flags=re.S)
    broken = []
    for target, anchor in re.findall(r"\]\(([^)#\s]+)(?:#([^)]*))?\)", text):
        if "://" in target:
            continue
        if not (ROOT / target).exists():
            broken.append(target)
        elif anchor and target.endswith(".md"):          # GitHub's heading ids: lower case, no punctuation
            headings = re.findall(r"^#+ (.*)$", (ROOT / target).read_text(), flags=re.M)
            if anchor not in {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}:
                broken.append(f"{target}#{anchor}")
    assert not broken, f"{name}: links that lead nowhere: {broken}"
