"""``eventdeck serve --help`` and ``replay --help`` show every default and the real MQTT limit names."""

from __future__ import annotations

from dataclasses import fields

import pytest

from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.gui.app import build_parser


def help_text(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *command: str) -> str:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option: no wrapping inside names
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*command, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def option_help(text: str, option: str) -> str:
    """The help of ``option``: its line, and the next when argparse puts the help under a long option."""
    lines = text.splitlines()
    (start,) = [number for number, line in enumerate(lines) if line.lstrip().startswith(option + " ")]
    below = lines[start + 1] if start + 1 < len(lines) and not lines[start + 1].lstrip().startswith("-") else ""
    return f"{lines[start]} {below.strip()}"


def test_serve_lists_every_mqtt_limit_with_its_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    line = option_help(help_text(capsys, monkeypatch, "serve"), "--mqtt-limit")
    assert "MqttLimits" not in line
    defaults = MqttLimits()
    for field in fields(MqttLimits):
        value = getattr(defaults, field.name)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        assert f"{field.name}={shown}" in line


@pytest.mark.parametrize(
    ("command", "option", "default"),
    [
        ("serve", "--http-max-body", "(default 1048576: 1 MiB)"),
        ("serve", "--summary-every", "(default 60)"),
        ("replay", "--reply-timeout", "(default 5)"),
    ],
)
def test_options_show_their_defaults(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str, option: str, default: str
) -> None:
    assert default in option_help(help_text(capsys, monkeypatch, command), option)


def test_the_defaults_shown_are_the_defaults_used() -> None:
    serve = build_parser().parse_args(["serve"])
    replay = build_parser().parse_args(["replay", "x.jsonl", "--into", "mqtt://localhost"])
    assert (serve.http_max_body, serve.summary_every, replay.reply_timeout) == (1024 * 1024, 60.0, 5.0)
    assert build_parser().parse_args(["serve", "--mqtt-limit", "max_inflight=8"]).mqtt_limit == ["max_inflight=8"]
