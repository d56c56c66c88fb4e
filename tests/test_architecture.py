"""The shape of the code base: no import cycles, and the default call stays light."""

from __future__ import annotations

import ast
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ptycho_config", "ptycho")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules a file imports anywhere (also inside functions, but not for typing)."""
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending += node.orelse  # what is imported for type checkers only is no dependency
            continue
        pending += ast.iter_child_nodes(node)
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found.update(name for name in names if name in modules)
    return found


def module_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    files = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph = {name: _imports(path, set(files)) for name, path in files.items()}
    # a package's __init__ is imported with any of its modules, not a dependency of its own
    return {name: {d for d in deps if not name.startswith(d + ".")} for name, deps in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest chain of imports, each module importing the next (the graph has no cycles)."""
    chains: dict[str, list[str]] = {}

    def chain(node: str) -> list[str]:
        if node not in chains:
            below = [chain(target) for target in sorted(graph.get(node, ()))]
            chains[node] = [node, *max(below, key=len, default=[])]
        return chains[node]

    return max((chain(node) for node in sorted(graph)), key=len, default=[])


# The most modules one chain of imports may pass through, the first importer included: a deeper
# chain is a layer the design does not need.
MAX_IMPORT_DEPTH = 10

# The layers of docs/index.md, lowest first: a module imports only from its layer or below.
LAYERS: tuple[tuple[str, ...], ...] = (
    # the subpackages themselves are empty: only their modules have a place of their own
    ("_errors", "_schemas", "_merge", "_datafiles", "_legacy", "_torch", "_factories"),
    ("_schemas.types", "_schemas.base", "_files", "_datafiles.pickled", "_schemas.object_policy"),
    ("_schemas.sections",),
    ("_schemas.registry",),
    ("_sources", "_merge.provenance", "_schemas.profiles", "_legacy.values", "_merge.accelerator",
     "_datafiles.npz", "_schemas.json_schema", "_torch.objects", "ptycho",
     "ptycho.params"),
    ("_merge.resolve", "_factories.snapshot", "_torch.config", "_torch.torchrun",
     "_legacy.bridge", "_factories.export"),
    ("_factories.payloads", "_torch.runtime", "_factories.factories", "settings", "distributed"),
    ("_factories.example", "__main__", "testing", "testing_plugin", "ptycho_config",
     "ptycho.config"),
    ("compat",),
)  # fmt: skip


def layer_of(module: str) -> int:
    """The layer of a module (a package's modules share the package's layer)."""
    name = module.removeprefix("ptycho_config.")
    matches = [
        (len(entry), index)
        for index, layer in enumerate(LAYERS)
        for entry in layer
        if name == entry or name.startswith(entry + ".")
    ]
    if not matches:
        raise KeyError(f"{module} is in no layer of docs/index.md; add it there and to LAYERS")
    return max(matches)[1]  # the most specific entry: ptycho.params is not the ptycho package


class TestModuleGraph:
    def test_imports_go_down_the_layers(self) -> None:
        """Every module is in a layer, and imports nothing from a higher one."""
        upward = [
            f"{module} -> {target}"
            for module, targets in module_graph().items()
            for target in targets
            if layer_of(target) > layer_of(module)
        ]
        assert [] == upward

    def test_schemas_import_no_source(self) -> None:
        """A schema says what data may be; a source reads it: no schema module imports one."""
        schemas, sources = "ptycho_config._schemas.", "ptycho_config._sources"
        found = [
            f"{module} -> {target}"
            for module, targets in module_graph().items()
            if module.startswith(schemas)
            for target in targets
            if target.startswith(sources)
        ]
        assert [] == found

    def test_no_private_interpreter_helpers(self) -> None:
        """No module calls CPython's private sys helpers (sys._getframe and the like): other
        interpreters may lack them; inspect and logging have public ones."""
        found = [
            f"{path.relative_to(ROOT)}:{node.lineno} sys.{node.attr}"
            for package in PACKAGES
            for path in (ROOT / package).rglob("*.py")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
            and node.attr.startswith("_")
        ]
        assert [] == found

    def test_no_import_cycles(self) -> None:
        """No module imports, directly or through others, a module that imports it back."""
        assert None is find_cycle(module_graph())

    def test_the_cycle_finder_finds_cycles(self) -> None:
        """The checker itself reports a planted cycle."""
        assert ["a", "b", "a"] == find_cycle({"a": {"b"}, "b": {"a"}})

    def test_import_chains_stay_short(self) -> None:
        """No chain of imports runs through more than MAX_IMPORT_DEPTH modules."""
        chain = longest_chain(module_graph())
        assert len(chain) <= MAX_IMPORT_DEPTH, " -> ".join(chain)

    def test_the_chain_finder_finds_the_longest_chain(self) -> None:
        """The checker itself finds a planted chain beside shorter ones."""
        graph = {"a": {"b", "d"}, "b": {"c"}, "c": set(), "d": set(), "e": {"a"}}
        assert ["e", "a", "b", "c"] == longest_chain(graph)

    def test_imports_for_type_checkers_only_are_no_dependency(self, tmp_path: Path) -> None:
        """An import under ``if TYPE_CHECKING:`` is left out; one in its else branch is not."""
        source = tmp_path / "m.py"
        source.write_text(
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    import a\nelse:\n    import b\n"
            "def f():\n    import c\n",
            encoding="utf-8",
        )
        assert {"b", "c"} == _imports(source, {"a", "b", "c"})


class TestDefaultCall:
    def test_default_call_imports_no_torch(self, tmp_path: Path) -> None:
        """The default call (TensorFlow backend, accelerator 'auto') never imports torch."""
        script = textwrap.dedent(
            """
            import sys, warnings
            import numpy as np
            from ptycho_config import create_training_payload

            np.savez(sys.argv[1], probeGuess=np.zeros((64, 64), np.complex64))
            payload = create_training_payload(sys.argv[1], sys.argv[2], {"n_groups": 8})
            print(payload.execution_config.accelerator, "torch" in sys.modules)
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "d.npz"), str(tmp_path / "out")],
            capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
            env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        assert 0 == result.returncode, result.stderr
        assert "cpu False" == result.stdout.strip()


def test_every_mutation_of_the_mutation_check_still_applies() -> None:
    """Each mutation of tools/mutation_check.py finds its text exactly once, so a refactor
    that moves the code it mutates is noticed here, not only in the slow run."""
    tool = runpy.run_path(str(ROOT / "tools" / "mutation_check.py"))  # not run as a script
    stale = [
        f"{number}. {mutation.name}"
        for number, mutation in enumerate(tool["MUTATIONS"], 1)
        if (ROOT / mutation.path).read_text(encoding="utf-8").count(mutation.old) != 1
    ]
    assert [] == stale
