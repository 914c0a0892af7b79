"""The layer contract: no package imports one above it, and peers stay apart.

CLI → composition root (app) → HTTP API → operator actions → engine → adapters (pbx,
process plumbing, importer, reporting) → db and campaign files (which parse and
never write) → logging and settings → the basic settings (no pydantic) → secret masking →
domain → errors. Every ``import`` counts, including those under ``TYPE_CHECKING`` and inside
functions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "dialerd"

# Top to bottom; a module may import its own package and any package of a lower layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("dialerd.__main__",),
    ("dialerd.cli",),
    ("dialerd.app", "dialerd.app_light"),
    ("dialerd.api",),
    ("dialerd.actions",),
    ("dialerd.engine",),
    ("dialerd.pbx", "dialerd.process", "dialerd.importer", "dialerd.reporting"),
    ("dialerd.db", "dialerd.campaignfile"),
    ("dialerd.logconfig", "dialerd.settings_sources"),
    ("dialerd.settings",),
    ("dialerd.settings_basic",),
    ("dialerd.redact",),
    ("dialerd.domain",),
    ("dialerd.errors", "dialerd.problems"),
)


def imports_of(module: str, source: str) -> set[str]:
    """Every dialerd module ``source`` (the text of ``module``) imports."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            if target == "dialerd":  # from dialerd import settings: the names are modules
                found.update(f"dialerd.{alias.name}" for alias in node.names)
    return {name for name in found if name == "dialerd" or name.startswith("dialerd.")}


def package_graph(sources: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Module -> the dialerd modules it imports, from (module name, source text) pairs."""
    return {module: imports_of(module, text) for module, text in sources}


def package_sources(root: Path = PACKAGE) -> list[tuple[str, str]]:
    out = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append((".".join(parts), path.read_text(encoding="utf-8")))
    return out


def layer_of(module: str, layers: tuple[tuple[str, ...], ...]) -> tuple[int, str] | None:
    """(layer index, top package) of ``module``; None for the bare ``dialerd`` package."""
    for index, packages in enumerate(layers):
        for top in packages:
            if module == top or module.startswith(top + "."):
                return index, top
    return None


def violations(
    graph: Mapping[str, set[str]], layers: tuple[tuple[str, ...], ...] = LAYERS
) -> list[str]:
    """Each import that goes up a layer or across to a peer, as ``importer -> imported``."""
    found = []
    for module, targets in sorted(graph.items()):
        home = layer_of(module, layers)
        if home is None:
            continue
        for target in sorted(targets):
            there = layer_of(target, layers)
            if there is None or there[1] == home[1]:
                continue
            if there[0] < home[0]:
                found.append(f"{module} -> {target} (imports a higher layer)")
            elif there[0] == home[0]:
                found.append(f"{module} -> {target} (imports a peer)")
    return found


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = [m for m, _ in package_sources() if m != "dialerd" and not layer_of(m, LAYERS)]
    assert unplaced == []


def test_no_layer_imports_one_above_it_or_a_peer() -> None:
    assert violations(package_graph(package_sources())) == []


CHECKING_ONLY = """\
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from dialerd.importer import rows
"""


def test_a_planted_upward_import_is_caught() -> None:
    planted = [
        ("dialerd.domain.ports", "from dialerd.engine.clock import SystemClock\n"),
        ("dialerd.pbx.virtual", "import dialerd.engine.daemon\n"),
        ("dialerd.engine.daemon", "from ..app import assemble\n"),
        ("dialerd.campaignfile.registry", "from dialerd.db.models import Campaign\n"),
        ("dialerd.pbx.factory", "from dialerd.process import metrics\n"),
        ("dialerd.db.models", CHECKING_ONLY),
        ("dialerd.engine.dispatcher", "from dialerd.domain.ports import Telephony\n"),
    ]
    assert violations(package_graph(planted)) == [
        "dialerd.campaignfile.registry -> dialerd.db.models (imports a peer)",
        "dialerd.db.models -> dialerd.importer (imports a higher layer)",
        "dialerd.domain.ports -> dialerd.engine.clock (imports a higher layer)",
        "dialerd.engine.daemon -> dialerd.app (imports a higher layer)",
        "dialerd.pbx.factory -> dialerd.process (imports a peer)",
        "dialerd.pbx.virtual -> dialerd.engine.daemon (imports a higher layer)",
    ]
