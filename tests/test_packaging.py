"""The packaging files (desktop entry, AppStream metainfo) and the icon set are present and well formed."""

from __future__ import annotations

import configparser
import tomllib
import xml.etree.ElementTree as ET

import pytest

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
