"""The packaging files (desktop entry, AppStream metainfo), the icon set, and the desktop bundle's scripts."""

from __future__ import annotations

import ast
import configparser
import importlib
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from tests.paths import ROOT

PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"
DESKTOP_FILE = PACKAGING / "eventdeck.desktop"
METAINFO_FILE = PACKAGING / "io.eventdeck.EventDeck.metainfo.xml"
SVG_NS = "http://www.w3.org/2000/svg"

ICON_NAMES = [
    "app", "event", "command", "reply", "channel", "subscriber", "publisher", "broker",
    "pause", "play", "clear", "send", "follow", "retained", "dead", "invalid", "filter",
    "add", "remove", "copy", "format", "stop", "settings", "connect",
]  # fmt: skip


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(DESKTOP_FILE.read_text(encoding="utf-8"), source=str(DESKTOP_FILE))
    assert parser.sections()[0] == "Desktop Entry", "the first group must be [Desktop Entry]"
    return parser["Desktop Entry"]


def test_desktop_entry_has_the_required_keys() -> None:
    entry = _desktop_entry()
    for key in ("Type", "Name", "GenericName", "Comment", "Exec", "Icon", "Terminal", "Categories", "Keywords",
                "StartupWMClass"):  # fmt: skip
        assert entry.get(key), f"missing or empty key {key}"
    assert entry["Type"] == "Application"
    assert entry["Name"] == "EventDeck"
    assert entry["Exec"] == "eventdeck"
    assert entry["Icon"] == "eventdeck"
    assert entry["Terminal"] == "false"
    assert entry["StartupWMClass"] == "eventdeck"
    assert entry["Categories"].endswith(";")
    assert {"Development", "Network"} <= set(entry["Categories"].split(";"))
    assert entry["Keywords"].endswith(";")


def test_app_icon_files_exist() -> None:
    svg_root = ET.parse(PACKAGING / "eventdeck.svg").getroot()
    assert svg_root.tag == f"{{{SVG_NS}}}svg"
    png = (PACKAGING / "eventdeck.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (256, 256)


@pytest.mark.parametrize("name", ICON_NAMES)
def test_icon_is_an_svg_with_a_viewbox(name: str) -> None:
    path = ICONS / f"{name}.svg"
    assert path.is_file(), f"missing icon {path.relative_to(ROOT)}"
    root = ET.parse(path).getroot()
    assert root.tag == f"{{{SVG_NS}}}svg"
    view_box = [float(v) for v in root.attrib["viewBox"].replace(",", " ").split()]
    assert view_box == [0, 0, 24, 24]


def test_metainfo_parses_and_launches_the_desktop_file() -> None:
    component = ET.parse(METAINFO_FILE).getroot()
    assert component.tag == "component"
    assert component.get("type") == "desktop-application"
    assert component.findtext("id") == METAINFO_FILE.name.removesuffix(".metainfo.xml")
    assert component.findtext("name") == "EventDeck"
    assert component.findtext("metadata_license") == "CC0-1.0"
    assert component.findtext("project_license") == "MIT"
    assert (component.findtext("summary") or "").strip()
    assert component.findall("description/p"), "the description needs at least one paragraph"
    launchables = component.findall("launchable[@type='desktop-id']")
    assert [element.text for element in launchables] == [DESKTOP_FILE.name]
    assert component.find("content_rating") is not None
    releases = component.findall("releases/release")
    assert releases
    assert releases[0].get("version") == "0.1.0"
    assert releases[0].get("date") == "2026-11-27"


def test_every_python_package_is_listed_for_the_wheel() -> None:
    """pyproject lists packages by hand (package-dir maps eventdeck.core to core/): a new one must be added."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    roots = {name: ROOT / folder for name, folder in config["package-dir"].items()}
    found = set()
    for name, folder in roots.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            found.add(".".join((name, *relative)))
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_every_resource_file_is_listed_as_package_data() -> None:
    """Scenarios, schemas and icons ship in the wheel only if a package-data pattern names them."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    resources = ROOT / "resources"
    files = [path for folder in ("icons", "scenarios", "schemas") for path in (resources / folder).iterdir()]
    assert {path.parent.name for path in files} == {"icons", "scenarios", "schemas"}
    unlisted = [
        path.relative_to(resources).as_posix()
        for path in files
        if not any(path.relative_to(resources).match(pattern) for pattern in patterns["eventdeck.resources"])
    ]
    assert unlisted == [], "add these to [tool.setuptools.package-data] in pyproject.toml"


# -- the desktop bundle (packaging/build-bundle); building it is CI's job, these check its parts --------------

sys.path.insert(0, str(PACKAGING))  # the bundle scripts are standalone files there, not a package
bundle_policy = importlib.import_module("bundle_policy")
build_bundle = importlib.import_module("build_bundle")
smoke_bundle = importlib.import_module("smoke_bundle")
needs_sh = pytest.mark.skipif(sys.platform == "win32", reason="install.sh and the fake binaries are POSIX sh")


@pytest.mark.parametrize("name", ["build-bundle", "smoke-bundle", "install.sh"])
def test_bundle_scripts_are_executable(name: str) -> None:
    path = PACKAGING / name
    assert path.is_file()
    assert os.access(path, os.X_OK), f"chmod +x packaging/{name}"
    assert path.read_text(encoding="utf-8").startswith("#!/")


def test_pyproject_has_a_bundle_extra_with_pyinstaller() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("pyinstaller>=") for requirement in extras["bundle"])


def _save_png(path: Path, paint: Callable[[QImage], None]) -> Path:
    image = QImage(320, 200, QImage.Format.Format_RGB32)
    paint(image)
    assert image.save(str(path))  # PNG, from the suffix
    return path


def test_smoke_check_rejects_a_blank_screenshot(qapp: QApplication, tmp_path: Path) -> None:
    blank = _save_png(tmp_path / "blank.png", lambda image: image.fill(QColor("white")))
    with pytest.raises(smoke_bundle.SmokeError, match=r"blank\.png looks blank \(1 colours"):
        smoke_bundle.check_screenshot(blank)


def test_smoke_check_accepts_a_painted_screenshot(qapp: QApplication, tmp_path: Path) -> None:
    def gradient(image: QImage) -> None:
        for x in range(image.width()):
            for y in range(image.height()):
                image.setPixelColor(x, y, QColor(x % 256, y, 128))

    assert smoke_bundle.check_screenshot(_save_png(tmp_path / "painted.png", gradient)) > 10_000


def test_smoke_check_names_a_screenshot_that_is_not_an_image(qapp: QApplication, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(smoke_bundle.SmokeError, match=r"broken\.png is missing or not an image"):
        smoke_bundle.check_screenshot(broken)


def test_smoke_checks_whichever_demo_document_exists(tmp_path: Path) -> None:
    assert (ROOT / smoke_bundle.demo_document(ROOT)).is_file()
    with pytest.raises(smoke_bundle.SmokeError, match=r"none of resources/scenarios/household\.yaml"):
        smoke_bundle.demo_document(tmp_path)
    for relative in reversed(smoke_bundle.DEMO_DOCUMENTS):  # the scenario wins once it exists
        (tmp_path / relative).parent.mkdir(parents=True)
        (tmp_path / relative).write_text("asyncapi: 3.0.0\n")
        assert smoke_bundle.demo_document(tmp_path) == relative


def test_smoke_names_resources_the_bundle_lacks(tmp_path: Path) -> None:
    source, packaged = tmp_path / "resources", tmp_path / "bundle"
    for relative in ("__init__.py", "icons/app.svg", "scenarios/household.yaml", "__pycache__/x.pyc"):
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text("x")
    (packaged / "icons").mkdir(parents=True)
    (packaged / "icons" / "app.svg").write_text("x")
    assert smoke_bundle.missing_resources(source, packaged) == ["scenarios/household.yaml"]


@needs_sh
@pytest.mark.parametrize(
    ("output", "code", "reason"),
    [
        ("EventDeck 0.1.0", 3, "exit code 3, expected 0"),
        ("Traceback (most recent call last):", 0, "'Traceback'"),
        ("2026-01-01 12:00:00 ERROR eventdeck: error in the window", 0, "'ERROR'"),
    ],
)
def test_a_bundle_run_fails_on_a_bad_exit_code_or_a_logged_error(
    tmp_path: Path, output: str, code: int, reason: str
) -> None:
    bundle = _fake_bundle(tmp_path, f'echo "{output}" >&2; exit {code}')
    with pytest.raises(smoke_bundle.SmokeError, match=re.escape(f"--version: eventdeck --version: {reason}")):
        smoke_bundle.Bundle(bundle, tmp_path / "home").run("--version", "--version")


@needs_sh
def test_a_bundle_runs_offscreen_with_a_home_of_its_own(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path, 'echo "$QT_QPA_PLATFORM $HOME $XDG_CONFIG_HOME ${DISPLAY:-no display}"')
    result, _ = smoke_bundle.Bundle(bundle, tmp_path / "home").run("env", "--version")
    assert result.stdout.split() == [
        "offscreen",
        str(tmp_path / "home"),
        str(tmp_path / "home" / "config"),
        "no",
        "display",
    ]


def test_the_bundle_keeps_the_qt_plugins_a_desktop_needs() -> None:
    keeps = bundle_policy.keeps_qt_plugin
    for kept in ("platforms/libqxcb.so", "platforms/libqwayland.so", "platforms/libqoffscreen.so",
                 "platforms/qwindows.dll", "imageformats/libqsvg.so", "iconengines/libqsvgicon.so",
                 "wayland-shell-integration/libxdg-shell.so", "xcbglintegrations/libqxcb-glx-integration.so",
                 "platforminputcontexts/libibusplatforminputcontextplugin.so"):  # fmt: skip
        assert keeps(f"PySide6/Qt/plugins/{kept}"), kept
    for dropped in ("platforms/libqeglfs.so", "platforms/libqvnc.so", "platformthemes/libqgtk3.so",
                    "imageformats/libqjpeg.so", "generic/libqevdevmouseplugin.so",
                    "egldeviceintegrations/libqeglfs-kms-integration.so"):  # fmt: skip
        assert not keeps(f"PySide6/Qt/plugins/{dropped}"), dropped
    assert not bundle_policy.keeps_qt_data("PySide6/Qt/translations")


def test_the_bundle_keeps_every_qt_module_the_sources_import() -> None:
    imported: set[str] = set()
    for folder in ("core", "gui"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom):
                    modules = [node.module or ""]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                else:
                    continue
                imported.update(name.split(".")[1] for name in modules if name.startswith("PySide6."))
    assert imported <= bundle_policy.QT_MODULES_USED, "add them to QT_MODULES_USED in packaging/bundle_policy.py"


@needs_sh
def test_the_tarball_installs_for_the_user_and_uninstalls(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path / "dist", 'echo "EventDeck 0.1.0"')
    build_bundle.add_desktop_files(bundle)
    tarball = build_bundle.make_tarball(bundle, tmp_path / "EventDeck.tar.gz")
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "unpacked", filter="tar")
    home = tmp_path / "home"
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    installer = tmp_path / "unpacked" / "EventDeck" / "install.sh"

    subprocess.run([str(installer)], env=env, check=True, capture_output=True)

    installed = home / ".local" / "opt" / "EventDeck" / "eventdeck"
    share = home / ".local" / "share"
    entry = (share / "applications" / "eventdeck.desktop").read_text(encoding="utf-8").splitlines()
    assert f'Exec="{installed}"' in entry
    assert f"TryExec={installed}" in entry
    assert (share / "icons/hicolor/scalable/apps/eventdeck.svg").is_file()
    assert (share / "icons/hicolor/256x256/apps/eventdeck.png").is_file()
    assert (share / "metainfo/io.eventdeck.EventDeck.metainfo.xml").is_file()
    command = home / ".local" / "bin" / "eventdeck"
    assert subprocess.run([str(command)], capture_output=True, text=True, check=True).stdout == "EventDeck 0.1.0\n"

    subprocess.run([str(installed.parent / "install.sh"), "--uninstall"], env=env, check=True, capture_output=True)
    caches = {"mimeinfo.cache", "icon-theme.cache"}  # the desktop's own, rebuilt by install.sh when it can
    assert [path for path in home.rglob("*") if not path.is_dir() and path.name not in caches] == []


@needs_sh
def test_install_leaves_a_folder_that_is_not_a_bundle_alone(tmp_path: Path) -> None:
    bundle = _fake_bundle(tmp_path / "dist", "true")
    build_bundle.add_desktop_files(bundle)
    home = tmp_path / "home"
    notes = home / ".local" / "opt" / "EventDeck" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("mine")
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    result = subprocess.run([str(bundle / "install.sh")], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "is not an EventDeck bundle; move it away first" in result.stderr
    assert notes.read_text() == "mine"


def _fake_bundle(parent: Path, script: str) -> Path:
    """A bundle folder whose 'binary' is a shell script: enough for the installer and the smoke runner."""
    bundle = parent / "EventDeck"
    (bundle / "_internal").mkdir(parents=True)
    binary = bundle / "eventdeck"
    binary.write_text(f"#!/bin/sh\n{script}\n")
    binary.chmod(0o755)
    return bundle
