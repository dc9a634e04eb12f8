"""Data flows one way: no import circle between the modules of provisioner/, nor between its top-level
packages (config, centra, engine, sandbox, ...). Every import counts, including ones inside a
function (engine/plan/target.py opens the sandbox lazily: engine -> sandbox is a real dependency, so
sandbox must not depend on engine) and ones only for type checking."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "provisioner"

# Edges allowed to close a circle, each with the reason and who removes it (none today: the sandbox's
# operator reads runbooks through the neutral provisioner/runbook_format.py, not engine/). The test
# fails while an entry names an edge that no longer exists.
KNOWN: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from pkg import module` depends on the module; `from module import name`, on the module.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        # `from provisioner import config` imports the submodule, not the (empty) root package.
        found.update(t for t in targets if t in known and t not in (name, "provisioner"))
    return found


def module_graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: _imports(path, name, set(files)) for name, path in files.items()}


def _top(module: str) -> str:
    return module.split(".")[1]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(exc.args[1])
    return None


def test_known_exceptions_still_exist() -> None:
    graph = module_graph()
    assert all(target in graph[source] for source, target in KNOWN), "remove the resolved edge from KNOWN"


def test_no_import_circle_between_modules() -> None:
    graph = {source: {t for t in targets if (source, t) not in KNOWN} for source, targets in module_graph().items()}
    assert _cycle(graph) is None, f"import circle: {' -> '.join(_cycle(graph) or [])}"


def test_no_import_circle_between_top_level_packages() -> None:
    packages: dict[str, set[str]] = {}
    for source, targets in module_graph().items():
        if source == "provisioner":
            continue
        packages.setdefault(_top(source), set()).update(
            _top(t) for t in targets if (source, t) not in KNOWN and _top(t) != _top(source))
    assert _cycle(packages) is None, f"import circle between packages: {' -> '.join(_cycle(packages) or [])}"


def test_the_graph_sees_lazy_and_relative_imports() -> None:
    graph = module_graph()
    assert "provisioner.sandbox.instance" in graph["provisioner.engine.plan.target"]  # inside a function
    assert "provisioner.config.resolve" in graph["provisioner.engine.plan.planning"]
    assert {"provisioner.reference.catalogue"} <= graph["provisioner.config.fields"]


def test_core_modules_never_import_click() -> None:
    """Only the CLI talks to the terminal; everything below reports through return values and callbacks."""
    for path in PACKAGE.rglob("*.py"):
        if "cli" not in path.relative_to(PACKAGE).parts:
            imported = {n.names[0].name if isinstance(n, ast.Import) else n.module
                        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                        if isinstance(n, ast.Import | ast.ImportFrom)}
            assert not {m for m in imported if m and m.split(".")[0] in ("click", "rich")}, path


# The rooms of the package from the bottom up: a room may import rooms of lower tiers only, never one of
# its own tier or above (engine/ is split into its sub-packages, each a room). A new package must be
# placed here, so its place is a decision, not an accident.
TIERS: list[set[str]] = [
    {"errors", "escape", "reference", "presets"},
    {"files", "environ", "warm"},
    {"config", "runbook_format", "centra", "secretstores"},
    {"policy", "resources"},
    {"sandbox"},
    {"engine", "engine.state"},
    {"engine.plan"},
    {"engine.apply"},
    {"engine.fleet", "engine.lifecycle", "render"},
    {"gitops"},
    {"cli"},
    {"launch"},  # the console script: a warm server's client, else the CLI
]


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 3 and parts[1] == "engine":
        return ".".join(parts[1:3])
    return parts[1] if len(parts) > 1 else "provisioner"


def _tier(name: str) -> int:
    return next(i for i, rooms in enumerate(TIERS) if name in rooms)


def test_every_room_has_a_tier() -> None:
    rooms = {room(m) for m in module_graph()} - {"provisioner"}
    assert rooms <= set().union(*TIERS), f"place these in TIERS: {sorted(rooms - set().union(*TIERS))}"


def test_rooms_import_only_lower_tiers() -> None:
    upward = sorted(f"{source} -> {target}" for source, targets in module_graph().items() for target in targets
                    if room(source) != room(target) and room(source) != "provisioner"
                    and _tier(room(target)) >= _tier(room(source)))
    assert not upward, "imports that go up or sideways:\n" + "\n".join(upward)


def _public(package: str) -> set[str] | None:
    """The modules a package's __init__ lists in __all__ (None: the package keeps no such list)."""
    init = PACKAGE.joinpath(*package.split(".")[1:], "__init__.py")
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {f"{package}.{name}" for name in ast.literal_eval(node.value)}
    return None


def test_other_rooms_import_only_a_room_s_public_modules() -> None:
    graph = module_graph()
    private = sorted(f"{source} -> {target}" for source, targets in graph.items() for target in targets
                     if room(source) != room(target) and (listed := _public(target.rpartition(".")[0])) is not None
                     and target not in listed)
    assert not private, "imports of another room's private modules:\n" + "\n".join(private)


def test_every_listed_public_module_exists() -> None:
    graph = module_graph()
    for init in PACKAGE.rglob("__init__.py"):
        package = _module_name(init)
        assert (_public(package) or set()) <= set(graph), f"{init}: __all__ names a module that does not exist"


def test_the_layer_rules_see_a_violation() -> None:
    """The rules are not vacuous: an upward import and a private import would be caught."""
    assert _tier(room("provisioner.engine.plan.live")) < _tier(room("provisioner.engine.apply.merchant"))
    assert "provisioner.engine.fleet.hosts" not in (_public("provisioner.engine.fleet") or set())
