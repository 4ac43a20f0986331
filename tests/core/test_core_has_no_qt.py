"""The lint contract: nothing under core/ imports Qt, qasync, pyqtgraph or the GUI package."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("PySide6", "qasync", "pyqtgraph", "shiboken6", "eventdeck.gui", "gui")


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the eventdeck.core package
                base = "eventdeck.core" if node.level == 1 else "eventdeck"
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "import_module",
            "__import__",
        ):
            found.extend((node.lineno, arg.value) for arg in node.args if isinstance(arg, ast.Constant))
    return found


def _forbidden(module: object) -> bool:
    if not isinstance(module, str):
        return False
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def test_core_sources_exist() -> None:
    assert (CORE / "broker.py").is_file()


def test_core_never_imports_qt_or_gui() -> None:
    offenders = [
        f"{path.relative_to(CORE.parent)}:{line}: imports {module}"
        for path in sorted(CORE.rglob("*.py"))
        for line, module in _imported_modules(path)
        if _forbidden(module)
    ]
    assert not offenders, "core/ must stay free of Qt and the GUI:\n" + "\n".join(offenders)


def test_checker_catches_offenders(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import PySide6.QtCore\nfrom qasync import QEventLoop\nfrom eventdeck.gui import app\n"
        "from ..gui import bridge\nimport importlib\nimportlib.import_module('pyqtgraph')\n"
    )
    modules = [module for _, module in _imported_modules(bad) if _forbidden(module)]
    assert "PySide6.QtCore" in modules
    assert "qasync" in modules
    assert "eventdeck.gui" in modules
    assert "eventdeck.gui.bridge" in modules
    assert "pyqtgraph" in modules
