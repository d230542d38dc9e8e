"""A small notebook made of the cells a notebook's explorers need, found in the real notebook by their source.

``explorer_notebook(path, total_steps)`` keeps, in the notebook's order:
  - every cell that shows an explorer: it assigns ``name = SomethingExplorer(...)`` and shows ``name`` (the
    cell's last expression, or ``display(name)``);
  - every earlier cell that defines a name those cells use, and the cells those need in turn (the import cell,
    a ``defaults = Config()`` ...): for each free name, the latest earlier cell that binds it.
So the browser test follows the notebook when it changes. Every explorer call that takes ``total_steps`` gets
``total_steps=total_steps`` instead: the test checks the wiring of a Train button, not learning.
"""

import ast
import builtins
import inspect
import json

import nbformat

from rlteach import widgets


def code_of(cell) -> str:
    """A cell's source as Python: IPython's ``%magic`` and ``!shell`` lines dropped."""
    return "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))


def explorer_class(call):
    """The rlteach.widgets class an ``ast.Call`` builds (``TrainExplorer(...)``), or None."""
    name = call.func.id if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) else None
    return getattr(widgets, name) if name and name.endswith("Explorer") and hasattr(widgets, name) else None


def shown_explorers(tree) -> list:
    """The names of the explorers a cell builds and shows."""
    built = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign) and explorer_class(node.value)
             for target in node.targets if isinstance(target, ast.Name)}
    shown = set()
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and isinstance(last.value, ast.Name):
        shown.add(last.value.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "display":
            shown |= {arg.id for arg in node.args if isinstance(arg, ast.Name)}
    return sorted(built & shown)


def bound_and_free(tree) -> tuple:
    """(names the cell binds, names it reads without binding them, builtins left out)."""
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store | ast.Del) else read).add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound, read - bound - set(dir(builtins))


def with_total_steps(tree, total_steps) -> bool:
    """Set ``total_steps=total_steps`` on every explorer call that takes it; True if there was one."""
    changed = False
    for node in ast.walk(tree):
        cls = explorer_class(node)
        if cls is not None and "total_steps" in inspect.signature(cls).parameters:
            given = [k for k in node.keywords if k.arg == "total_steps"]
            if given:
                given[0].value = ast.Constant(total_steps)
            else:
                node.keywords.append(ast.keyword("total_steps", ast.Constant(total_steps)))
            changed = True
    return changed


def explorer_notebook(path, total_steps):
    """(the small notebook, the names of the explorers it shows in order); see the module's docstring."""
    real = nbformat.read(path, as_version=4)
    cells = [(i, cell, ast.parse(code_of(cell))) for i, cell in enumerate(real.cells) if cell.cell_type == "code"]
    shows = {i: shown_explorers(tree) for i, _, tree in cells}
    wanted = {i for i, names in shows.items() if names}
    todo = sorted(wanted)
    while todo:
        i = todo.pop()
        _, free = bound_and_free(next(tree for j, _, tree in cells if j == i))
        for name in free:
            binder = max((j for j, _, tree in cells if j < i and name in bound_and_free(tree)[0]), default=None)
            if binder is not None and binder not in wanted:
                wanted.add(binder)
                todo.append(binder)
    small = nbformat.v4.new_notebook(metadata={k: real.metadata[k] for k in ("kernelspec", "language_info")
                                               if k in real.metadata})
    small.cells.append(nbformat.v4.new_markdown_cell(
        f"Made by tests/browser from `{path.name}`: cells {sorted(wanted)}, explorers with "
        f"`total_steps={total_steps}`."))
    for i, cell, tree in cells:
        if i in wanted:
            source = ast.unparse(tree) if shows[i] and with_total_steps(tree, total_steps) else cell.source
            small.cells.append(nbformat.v4.new_code_cell(source))
    return small, [name for i, _, _ in cells for name in shows[i]]


def write_explorer_notebook(real_path, folder, total_steps) -> tuple:
    """Write the small notebook of ``real_path`` into ``folder`` (as ``browser_<name>``); return its path and
    the names of the explorers it shows."""
    small, names = explorer_notebook(real_path, total_steps)
    target = folder / f"browser_{real_path.name}"
    target.write_text(json.dumps(small, indent=1))
    return target, names
