"""The shape of the package: no import cycle among rlteach's modules (imports inside functions count), no file
over 400 lines, and notebooks that need nothing but the installed package and its dependencies."""

import ast
import json
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
