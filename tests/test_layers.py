"""The package's floors: each folder imports only from the floors below it (and itself)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "vllm_chat"

# Lowest first. `render.text` (terminal-safe text) and `render.environment` are the ground
# floor every floor may stand on; the rest of `render` sits above `client`.
FLOORS = ["config", "client", "render", "chat", "store", "repl", "app", "cli"]
GROUND = {"vllm_chat.render.text", "vllm_chat.render.environment"}


def _floor(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "vllm_chat":
                found.update(f"vllm_chat.{alias.name}" for alias in node.names)
            elif node.module.startswith("vllm_chat."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("vllm_chat."))
    return found


def test_every_import_goes_down_or_stays_on_its_floor() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = "vllm_chat." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        here = _floor(module)
        if here not in FLOORS:
            continue  # __init__, __main__
        for target in _imports(path):
            there = _floor(target)
            if target in GROUND or there not in FLOORS or there == here:
                continue
            if FLOORS.index(there) > FLOORS.index(here):
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_no_module_is_over_four_hundred_and_fifty_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert long == {}
    assert len((PACKAGE / "cli.py").read_text(encoding="utf-8").splitlines()) < 200
