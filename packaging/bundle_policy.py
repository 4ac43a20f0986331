"""What the desktop bundle keeps of Qt: read by eventdeck.spec and its hooks, checked by tests/test_packaging.py.

PySide6 ships far more Qt than EventDeck uses. The bundle keeps the Python modules the app
imports, the platform plugins a desktop needs (X11, Wayland, Windows, macOS, and offscreen for
screenshots and CI), SVG for the icons, and input methods; it leaves out every other Qt module,
the embedded-Linux plugins, the GTK theme (it would load the system's GTK against the bundle's
GLib) and Qt's translations (the app installs no translator, so Qt would never load them).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path, PurePosixPath

# Every PySide6 module that core/ and gui/ import; a test fails when the sources import another one.
QT_MODULES_USED = frozenset({"QtCore", "QtGui", "QtWidgets"})
# pyqtgraph imports these two when it loads (pyqtgraph/Qt/OpenGLHelpers.py), though EventDeck draws without OpenGL.
QT_MODULES_BUNDLED = QT_MODULES_USED | {"QtOpenGL", "QtOpenGLWidgets"}

# Plugin folders of which only these plugins are kept (names without "lib" and the file suffix).
KEPT_PLUGINS = {
    "platforms": {"qxcb", "qwayland", "qoffscreen", "qwindows", "qdirect2d", "qcocoa"},
    "platformthemes": {"qxdgdesktopportal"},
    "platforminputcontexts": {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"},
    "imageformats": {"qsvg"},  # the icons; PNG (screenshots) is built into QtGui
    "iconengines": {"qsvgicon"},
    "wayland-shell-integration": {"xdg-shell"},
}
# Plugin folders used only by the embedded-Linux platforms (eglfs, linuxfb) that the bundle leaves out.
DROPPED_PLUGIN_FOLDERS = frozenset({"egldeviceintegrations", "generic"})

# Python modules never imported at run time that would otherwise come along.
EXCLUDED_MODULES = (
    "readline",  # GPL libreadline; nothing in the app reads a terminal line
    "tkinter",
    "pyqtgraph.opengl",  # needs PyOpenGL, which EventDeck does not use
    "pyqtgraph.jupyter",
)


def excluded_qt_modules() -> list[str]:
    """``PySide6.QtX`` for every Qt module installed beside PySide6 that the bundle does not need."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("PySide6 is not installed in the Python that runs PyInstaller")
    names = {
        entry.name.split(".", 1)[0]
        for folder in spec.submodule_search_locations
        for entry in Path(folder).iterdir()
        if entry.name.startswith("Qt") and entry.suffix in {".so", ".pyd", ".pyi"}
    }
    return sorted(f"PySide6.{name}" for name in names - QT_MODULES_BUNDLED)


def keeps_qt_plugin(destination: str) -> bool:
    """Whether the plugin collected to ``destination`` (e.g. ``PySide6/Qt/plugins/platforms``) stays in."""
    *_, folder, name = PurePosixPath(destination.replace("\\", "/")).parts
    if folder in DROPPED_PLUGIN_FOLDERS:
        return False
    kept = KEPT_PLUGINS.get(folder)
    return kept is None or _plugin_name(name) in kept


def trimmed_qt_dependencies(hook_file: str) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """PyInstaller's own collection for the Qt module a hook is named after, less what the bundle leaves out.

    Used by the hooks in packaging/pyinstaller-hooks, which take the place of PyInstaller's, so that a
    plugin left out here never has its libraries (the GTK stack, eglfs) analysed and collected either.
    """
    from PyInstaller.utils.hooks.qt import add_qt6_dependencies  # noqa: PLC0415 - only the build venv has PyInstaller

    hiddenimports, binaries, datas = add_qt6_dependencies(hook_file)
    kept_binaries = [(src, dst) for src, dst in binaries if keeps_qt_plugin(f"{dst}/{Path(src).name}")]
    kept_datas = [(src, dst) for src, dst in datas if keeps_qt_data(dst)]
    return list(hiddenimports), kept_binaries, kept_datas


def keeps_qt_data(destination: str) -> bool:
    """Whether a Qt data file collected to ``destination`` stays in (translations do not)."""
    return "translations" not in PurePosixPath(destination.replace("\\", "/")).parts


def _plugin_name(file_name: str) -> str:
    stem = file_name.split(".", 1)[0]
    return stem.removeprefix("lib")
