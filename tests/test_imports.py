"""Layers only import downward (DESIGN.md): no import circles.

`import_graph` reads the source with `ast`, so nothing is imported to check it. Every import counts,
the ones inside functions too (a lazy import that closes a loop is still a circle); only those under
`if TYPE_CHECKING:` are left out, since they never run. A module importing its parent package's
`__init__` implicitly (as every submodule does) is not counted.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "citeqa"


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package at `root` (its folder's name is the top)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports (at any depth, TYPE_CHECKING aside)."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for imported in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path)), name, is_package):
            # `from a.b import c` names module a.b.c when it exists, else something defined in a.b.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _imports(tree: ast.Module, module: str, is_package: bool) -> Iterator[str]:
    """Dotted names a module imports: `import a.b` gives a.b, `from a import b, c` gives a.b and a.c."""
    package = module if is_package else module.rpartition(".")[0]
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from . import x`, `from ..y import z`
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield base if alias.name == "*" else f"{base}.{alias.name}"


def _runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below `node` except the bodies of `if TYPE_CHECKING:` (their `else:` still runs)."""
    for child in ast.iter_child_nodes(node):
        yield child
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _runtime_nodes(other)
        else:
            yield from _runtime_nodes(child)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def describe(cycle: list[str], graph: Mapping[str, set[str]]) -> str:
    """The imports inside one cycle, one `a -> b` a line, for the failure message."""
    members = set(cycle)
    return "\n".join(f"  {a} -> {b}" for a in cycle for b in sorted(graph[a] & members))


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph(SRC)
    loops = import_cycles(graph)
    assert not loops, "import cycles:\n" + "\n\n".join(describe(c, graph) for c in loops)


# The layers, lowest first: a module imports only from its own layer or below (its own layer
# without a cycle, checked above). A prefix ending in "." is a package: every module in it.
LAYERS: list[tuple[str, ...]] = [
    (  # foundations: no citeqa imports but each other
        "citeqa.errors",
        "citeqa.text",
        "citeqa.analyzer",
        "citeqa.logistic",
        "citeqa.answer_model",
        "citeqa.onnx_query",
        "citeqa.markers",
        "citeqa.nearcopy",
        "citeqa.evaluate.metrics",
        "citeqa.evaluate.svg",
        "citeqa.evaluate.names",
    ),
    (  # settings and the types that flow
        "citeqa.config",
        "citeqa.schema",
        "citeqa.scope",
        "citeqa.timewords",
        "citeqa.encoding",
        "citeqa.zones",
        "citeqa.dates",
    ),
    ("citeqa.sources", "citeqa.sources."),  # one reader per kind of source, beneath ingest
    ("citeqa.chunk", "citeqa.ingest", "citeqa.embed", "citeqa.datasets"),  # reading and embedding
    ("citeqa.kb.",),  # the knowledge base's parts...
    ("citeqa.kb",),  # ...and its package front, which the layers above import
    ("citeqa.stories", "citeqa.retrieve"),  # one copy of each story, then ranking
    ("citeqa.features", "citeqa.reader", "citeqa.verify"),
    ("citeqa.answer_direct", "citeqa.answer", "citeqa.llm_client", "citeqa.llm_reply"),
    ("citeqa.llm",),  # answers written by a language model, checked by citeqa.verify
    ("citeqa.chat_markdown",),
    ("citeqa.chat",),
    (  # scoring a question set: takes an assistant, never imports one
        "citeqa.evaluate.results",
        "citeqa.evaluate.aggregate",
        "citeqa.evaluate.report",
        "citeqa.evaluate.gold",
        "citeqa.evaluate.runner",
        "citeqa.evaluate.compare",
    ),
    ("citeqa.assistant",),  # the facade
    (
        "citeqa.evaluate",
        "citeqa.evaluate.kb",
        "citeqa.evaluate.cli",
        "citeqa.web",
        "citeqa.cli",
        "citeqa.cli_answer",
        "citeqa",
    ),
]


def layer_of(module: str) -> int:
    """The layer of a module: an exact name wins over a package prefix."""
    for i, names in enumerate(LAYERS):
        if module in names:
            return i
    for i, names in enumerate(LAYERS):
        if any(n.endswith(".") and module.startswith(n) for n in names):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_imports.py")


def test_layers_only_import_downward() -> None:
    graph = import_graph(SRC)
    upward = [
        f"  {m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)})"
        for m in sorted(graph)
        for t in sorted(graph[m])
        if layer_of(t) > layer_of(m)
    ]
    assert not upward, "a lower layer imports a higher one:\n" + "\n".join(upward)


def _sources() -> list[Path]:
    return sorted([*SRC.rglob("*.py"), *(SRC.parents[1] / "app").rglob("*.py")])


def test_no_module_is_over_400_lines() -> None:
    long = [
        f"  {p.name}: {n}" for p in _sources() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert not long, "modules over 400 lines (split them):\n" + "\n".join(long)


def test_no_private_name_is_used_across_modules() -> None:
    """`obj._name` only on self/cls, and no `from citeqa.x import _name`: a leading underscore means
    "this module's business", so another module reaching for it is using a private API."""
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    found.append(f"  {path.name}:{node.lineno} {ast.unparse(node)}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("citeqa"):
                found += [
                    f"  {path.name}:{node.lineno} {a.name}" for a in node.names if a.name.startswith("_")
                ]
    assert not found, "private names used from outside their module:\n" + "\n".join(found)


# ---------------------------------------------------------------- the checker itself, on made-up packages


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_graph_counts_lazy_and_relative_imports_but_not_type_checking(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg import b\nfrom pkg.sub.c import thing\n",
            "b.py": "def f():\n    from . import a\n",
            "d.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    import pkg.a\nelse:\n    import pkg.b\n",
            "sub/__init__.py": "from .c import thing\n",
            "sub/c.py": "import os\nfrom ..b import f\nthing = 1\n",
        },
    )
    assert import_graph(root) == {
        "pkg": set(),
        "pkg.a": {"pkg.b", "pkg.sub.c"},
        "pkg.b": {"pkg.a"},
        "pkg.d": {"pkg.b"},
        "pkg.sub": {"pkg.sub.c"},
        "pkg.sub.c": {"pkg.b"},
    }


def test_cycles_are_the_strongly_connected_components() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
