"""The house's arrows point down: each layer of ``cadence/`` imports only from the layers below it.

Every import in every module is read from its syntax tree (imports inside functions and under
``TYPE_CHECKING`` included, since a lazy import is still a dependency), so a new arrow pointing up
fails here with the module and line that drew it. docs/ARCHITECTURE.md draws the same picture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top. A module may import its own layer and any layer before it in this list.
LAYERS = (
    "cadence.values",
    "connectors",
    "cadence.inputs",
    "cadence.planner",
    "cadence.store",
    "cadence.sync",
    "cadence.report",
    "cadence.app",
)


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to, or None outside cadence and connectors."""
    for layer in LAYERS:
        if module == layer or module.startswith(layer + "."):
            return layer
    if module == "cadence" or module.startswith("cadence."):
        return "cadence"  # the package root itself (only its __version__)
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports(path: Path, name: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import in one file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # "from cadence.store import repository" imports the module cadence.store.repository
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.append((node.lineno, target if is_module(target) else base))
    return found


def sources() -> list[Path]:
    return sorted([*(ROOT / "cadence").rglob("*.py"), *(ROOT / "connectors").rglob("*.py")])


def upward_imports(path: Path, name: str) -> list[str]:
    """Every import in one module that points at a layer above its own."""
    own = layer_of(name)
    if own in (None, "cadence"):  # cadence/__init__.py: it may import nothing above values
        own = LAYERS[0]
    rank = LAYERS.index(own)
    wrong = []
    for line, target in imports(path, name):
        theirs = layer_of(target)
        if theirs is None or theirs == "cadence":
            continue
        if LAYERS.index(theirs) > rank:
            wrong.append(f"{path.name}:{line}: {own} imports {target} ({theirs})")
    return sorted(set(wrong))


def test_every_module_belongs_to_a_layer() -> None:
    loose = [
        str(p.relative_to(ROOT)) for p in (ROOT / "cadence").glob("*.py") if p.name != "__init__.py"
    ]
    assert loose == [], "every cadence module lives in the folder of its layer"


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_only(path: Path) -> None:
    assert upward_imports(path, module_name(path)) == []


def test_the_check_sees_upward_imports(tmp_path: Path) -> None:
    """The rule can fail: a values module importing the store, or lazily the cycle, is caught."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json\n\nfrom cadence.store.repository import Store\n"
        "from . import model\n\n\ndef later():\n    from cadence.sync import cycle\n"
    )
    assert upward_imports(probe, "cadence.values.probe") == [
        "probe.py:3: cadence.values imports cadence.store.repository (cadence.store)",
        "probe.py:8: cadence.values imports cadence.sync.cycle (cadence.sync)",
    ]
    # A connector may use the values, nothing above them.
    probe.write_text("from cadence.values.model import Customer\nimport cadence.inputs.config\n")
    assert upward_imports(probe, "connectors.probe") == [
        "probe.py:2: connectors imports cadence.inputs.config (cadence.inputs)"
    ]


LIMIT = 420  # "no module over about 400 lines" (issue 17): one concept a module


def test_no_module_is_much_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sources()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert long == {}, "split these by concern"
