"""The floor plan holds (ARCHITECTURE.md): each room of nas/ imports only the rooms below it, results, search_spaces
and strategies import nothing of nas, only nas/runner imports Ray, no two modules import each other in a circle,
and no file is past 400 lines. Read from the source with `ast`, so a lazy import inside a function counts too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nas", "results", "search_spaces", "strategies")

# What each room of nas/ may import of nas. "face" is the top of nas/ (search.py, train.py, leaderboard.py, runs.py,
# result.py, __init__.py, __main__.py); errors.py is beneath everything.
ALLOWED = {
    "errors": set(),
    "data": {"errors"},
    "estimator": {"errors", "data"},
    "weight_sharing": {"errors", "data", "estimator"},
    "settings": {"errors", "data", "estimator"},
    "runner": {"errors", "data", "estimator", "weight_sharing", "settings"},
    "face": {"errors", "data", "estimator", "weight_sharing", "settings", "runner", "face"},
    "commands": {"errors", "data", "estimator", "weight_sharing", "settings", "runner", "face", "commands"},
    "tuner": {"errors", "data", "estimator", "weight_sharing", "settings", "runner", "face"},
}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def room(module: str) -> str:
    """The room a module of nas belongs to: its folder under nas/, "errors", or "face" for the top of nas/."""
    parts = module.split(".")
    if len(parts) == 1 or (len(parts) == 2 and not (ROOT / "nas" / parts[1]).is_dir()):
        return "errors" if parts[1:] == ["errors"] else "face"
    return parts[1]


def _is_main_block(node: ast.AST) -> bool:
    """`if __name__ == "__main__":`: a face module's door to its command line, run only by `python -m`."""
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def imported_modules(path: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, at any depth, outside `if __name__ == "__main__":`. A name
    imported from a package counts as its submodule when there is one (`from nas.settings import checks`)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = {id(inner) for node in ast.walk(tree) if _is_main_block(node) for inner in ast.walk(node)}
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append((node.lineno, submodule if submodule in known else base))
    return found


def import_graph() -> dict[str, list[tuple[int, str]]]:
    files = source_files()
    known = {module_name(path) for path in files}
    return {module_name(path): imported_modules(path, known) for path in files}


def forbidden_imports(graph: dict[str, list[tuple[int, str]]]) -> list[str]:
    problems = []
    for module, imports in graph.items():
        top = module.split(".")[0]
        for line, imported in imports:
            imported_top = imported.split(".")[0]
            where = f"{module}:{line} imports {imported}"
            if imported_top == "ray" and not module.startswith("nas.runner"):
                problems.append(f"{where}: only nas.runner imports Ray")
            elif top != "nas" and imported_top == "nas":
                problems.append(f"{where}: {top} imports nothing of nas")
            elif top == "results" and imported_top in ("tensorflow", "keras"):
                problems.append(f"{where}: results imports no TensorFlow")
            elif top == "nas" and imported_top == "nas" and room(imported) not in ALLOWED[room(module)] \
                    and room(imported) != room(module):
                problems.append(f"{where}: the {room(module)} room may import only "
                                f"{sorted(ALLOWED[room(module)]) or 'nothing'} of nas")
    return problems


def import_cycles(graph: dict[str, list[tuple[int, str]]]) -> list[list[str]]:
    """Circles among our own modules (a package's __init__ importing its own submodules is not one)."""
    edges = {module: {imported for _, imported in imports if imported in graph and imported != module
                      and not module.startswith(imported + ".") and not imported.startswith(module + ".")}
             for module, imports in graph.items()}
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(edges[module]):
            if state.get(imported) == "open":
                cycles.append(path[path.index(imported):] + [imported])
            elif imported not in state:
                visit(imported, path + [imported])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return cycles


def test_each_room_imports_only_the_rooms_below_it():
    assert forbidden_imports(import_graph()) == []


def test_no_module_imports_itself_back_through_others():
    assert import_cycles(import_graph()) == []


def test_no_file_is_past_400_lines():
    long = {str(path.relative_to(ROOT)): count for path in source_files()
            if (count := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_module_does_something_of_its_own():
    """No module left behind only to re-export what moved elsewhere: each defines a function, class or value."""
    idle = []
    for path in source_files():
        if path.name in ("__init__.py", "__main__.py"):
            continue
        body = ast.parse(path.read_text()).body
        if not any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign))
                   for node in body):
            idle.append(str(path.relative_to(ROOT)))
    assert idle == []


def test_each_room_says_what_lives_there():
    rooms = [path for path in (ROOT / "nas").iterdir() if (path / "__init__.py").is_file()]
    assert {path.name for path in rooms} >= {"commands", "data", "estimator", "runner", "settings", "tuner",
                                            "weight_sharing"}
    for path in rooms:
        docstring = ast.get_docstring(ast.parse((path / "__init__.py").read_text())) or ""
        assert "import" in docstring, f"nas/{path.name}/__init__.py should say what the room may import"


@pytest.mark.parametrize("module, imported, why", [
    ("nas.data.sources", "nas.runner.cluster", "may import only"),        # a room importing a room above it
    ("nas.estimator.training", "nas.settings.search_config", "may import only"),
    ("nas.settings.checks", "ray", "only nas.runner imports Ray"),
    ("results.store", "nas.errors", "imports nothing of nas"),
    ("results.report", "tensorflow", "imports no TensorFlow"),
])
def test_the_check_catches_an_import_that_runs_back_up(module, imported, why):
    problems = forbidden_imports({module: [(1, imported)]})
    assert len(problems) == 1 and why in problems[0]


def test_the_check_catches_a_circle():
    graph = {"nas.runner.a": [(1, "nas.runner.b")], "nas.runner.b": [(3, "nas.runner.a")]}
    assert import_cycles(graph) == [["nas.runner.a", "nas.runner.b", "nas.runner.a"]]
