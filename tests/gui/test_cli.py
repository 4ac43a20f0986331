"""The ``eventdeck`` command line: flags, platform checks, screenshots, clean shutdown."""

from __future__ import annotations

import ctypes.util
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from eventdeck.gui import app


def run_eventdeck(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventdeck.gui.app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # a first launch, and the user's settings stay untouched
    return env


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_version_and_help_need_no_qt(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        app.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("EventDeck ")
    with pytest.raises(SystemExit):
        app.main(["--help"])
    text = capsys.readouterr().out
    for flag in ("--demo", "--no-demo", "--screenshot", "--screenshot-delay", "--ring-size", "--version"):
        assert flag in text


def test_bad_flags_get_a_specific_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        app.main(["--screenshot-delay", "-1"])
    assert exit_info.value.code == 2
    assert "must be 0 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        app.main(["--ring-size", "lots"])
    assert "not a whole number" in capsys.readouterr().err


def test_no_display_is_explained(clean_env: dict[str, str]) -> None:
    result = run_eventdeck("--no-demo", env=clean_env)
    assert result.returncode == 1
    assert "no display found" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_xcb_libraries_are_named_with_their_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None if name == "xcb-cursor" else "lib.so")
    problem = app.choose_platform(app.build_parser().parse_args([]))
    assert problem is not None
    assert "sudo apt-get install libxcb-cursor0" in problem


def test_a_bundle_that_brings_the_library_needs_no_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None if name == "xcb-cursor" else "lib.so")
    assert app.missing_xcb_packages() == ["libxcb-cursor0"]
    (tmp_path / "_internal").mkdir()
    (tmp_path / "_internal" / "libxcb-cursor.so.0").touch()
    monkeypatch.setattr(app.sys, "frozen", True, raising=False)
    monkeypatch.setattr(app.sys, "_MEIPASS", str(tmp_path), raising=False)
    assert app.missing_xcb_packages() == []


def test_screenshot_writes_the_window_and_exits_cleanly(clean_env: dict[str, str], tmp_path: Path) -> None:
    shot = tmp_path / "shots" / "window.png"
    result = run_eventdeck("--screenshot", str(shot), "--screenshot-delay", "1.5", env=clean_env)
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 20_000
    width, height = png_size(shot)
    assert (width, height) == (1520, 900)
    for bad in ("Traceback", "Task was destroyed", "Event loop stopped before Future completed", "Fatal", "Error"):
        assert bad not in result.stderr, result.stderr
    # The first launch ran the demo and remembered it; the next one starts the same way unless told.
    assert (tmp_path / "config" / "EventDeck" / "EventDeck.conf").read_text().count("launched_before=true") == 1


HEADLESS_PROBE = """
import sys
from eventdeck.gui.app import main
import eventdeck.core.cli.serve  # what 'eventdeck serve' runs
assert main(["replay", sys.argv[1], "--into", "mqtt://127.0.0.1:1"]) == 1
assert main(["asyncapi", "check", sys.argv[1]]) == 1
assert main(["scenarios"]) == 0
assert main(["serve", "--scenario", sys.argv[1]]) == 2
print(sorted({name.split(".")[0] for name in sys.modules} & {"PySide6", "shiboken6", "qasync", "pyqtgraph"}))
"""


def test_headless_commands_never_load_qt(tmp_path: Path) -> None:
    recording = tmp_path / "one.jsonl"
    recording.write_text('{"channel": "a/b"}\n', encoding="utf-8")
    probe = subprocess.run(
        [sys.executable, "-c", HEADLESS_PROBE, str(recording)], capture_output=True, text=True, timeout=60, check=False
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1] == "[]"


def test_scenario_flags_parse() -> None:
    parser = app.build_parser()
    assert parser.parse_args([]).scenario is None
    assert parser.parse_args(["--scenario", "online-shop"]).scenario == "online-shop"
    assert parser.parse_args(["--scenario", "my/system.yaml", "--present"]).scenario == "my/system.yaml"
    served = parser.parse_args(["serve", "--scenario", "iot-fleet", "--mqtt", "off"])
    assert (served.command, served.scenario, served.mqtt) == ("serve", "iot-fleet", None)
    assert parser.parse_args(["serve"]).scenario is None
    assert parser.parse_args(["--scenario", "household", "serve"]).scenario == "household"  # not reset by serve
    assert parser.parse_args(["scenarios"]).command == "scenarios"


@pytest.mark.parametrize("other", ["--demo", "--no-demo"])
def test_a_scenario_and_the_demo_flags_exclude_each_other(other: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        app.main(["--scenario", "household", other])
    assert exit_info.value.code == 2
    assert f"argument {other}: not allowed with argument --scenario" in capsys.readouterr().err


def test_help_names_the_scenario_flag_and_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        app.main(["--help"])
    text = capsys.readouterr().out
    assert "--scenario NAME|FILE" in text
    assert "scenarios" in text
    with pytest.raises(SystemExit):
        app.main(["serve", "--help"])
    assert "--scenario NAME|FILE" in capsys.readouterr().out
