"""``eventdeck asyncapi check FILE``: one JSON summary on stdout and exit 0, or the error on stderr and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.cli.asyncapi_check import asyncapi_check_main, check
from tests.paths import ASYNCAPI_FIXTURES


def test_summary_of_a_document() -> None:
    path = ASYNCAPI_FIXTURES / "v3" / "greenhouse-mqtt.yaml"
    assert check(path) == {
        "file": str(path),
        "asyncapi": "3.0.0",
        "title": "Greenhouse MQTT API",
        "version": "3.0.0",
        "channels": {
            "count": 3,
            "names": ["bedClimate", "heaterOn", "heaterOff"],
            "addresses": [
                "greenhouse/{bedId}/climate",
                "greenhouse/{bedId}/heater/on",
                "greenhouse/{bedId}/heater/off",
            ],
        },
        "messages": {"count": 2, "names": ["climateReading", "heaterSwitch"]},
        "operations": {"count": 3, "names": ["receiveClimate", "switchOn", "switchOff"], "commands": []},
        "servers": {"count": 1, "names": ["site"]},
        "files": [],
        "remote_refs": [],
        "not_validated": [],
        "not_available": [],
    }
    assert check(ASYNCAPI_FIXTURES / "v3" / "invoices-rpc.yaml")["operations"]["commands"] == [
        "requestTotal",
        "totalInvoices",
    ]


def test_main_prints_one_json_object_and_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    path = ASYNCAPI_FIXTURES / "v2.6" / "invoices-rpc.yaml"
    assert asyncapi_check_main(path) == 0
    out, err = capsys.readouterr()
    assert err == ""
    summary = json.loads(out)
    assert (summary["asyncapi"], summary["channels"]["count"], summary["operations"]["names"]) == (
        "2.6.0",
        2,
        ["sendTotal", "totalInvoice"],
    )


def test_main_prints_the_error_and_returns_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("asyncapi: 9.9.9\ninfo: {title: t, version: '1'}\n", encoding="utf-8")
    assert asyncapi_check_main(path) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {path}, line 1: #/asyncapi: unsupported AsyncAPI version '9.9.9'")


# -- scenarios: documents with x-eventdeck fields ----------------------------------

SCENARIO = """\
asyncapi: 3.0.0
info: {title: Pings, version: '1'}
channels:
  ping:
    address: ping
    messages:
      ping: {payload: {type: object}, examples: [{payload: {n: 1}}]}
operations:
  sendPing:
    action: send
    channel: {$ref: '#/channels/ping'}
    x-eventdeck-publisher: {name: pinger, rate: 2}
  receivePing:
    action: receive
    channel: {$ref: '#/channels/ping'}
    x-eventdeck-subscriber: {name: ponger, delay: 0.1}
x-eventdeck-story:
  title: Ping
  steps:
    - {title: One ping, caption: The pinger pings., actions: [{publish: {channel: ping}}, {highlight: ponger}]}
"""


def write(tmp_path: Path, text: str, name: str = "pings.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scenario_gets_a_scenario_part(tmp_path: Path) -> None:
    summary = check(write(tmp_path, SCENARIO))
    assert summary["scenario"] == {
        "publishers": ["pinger"],
        "subscribers": ["ponger"],
        "responders": [],
        "story": {"title": "Ping", "steps": ["One ping"]},
    }
    without_story = check(write(tmp_path, SCENARIO[: SCENARIO.index("x-eventdeck-story")]))
    assert without_story["scenario"]["story"] is None
    plain = SCENARIO[: SCENARIO.index("    x-eventdeck-publisher")]
    assert "scenario" not in check(write(tmp_path, plain))


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("delay: 0.1}", "delay: 0.1, colour: red}", "unknown field 'colour' (known: name, delay,"),
        ("rate: 2}", "rate: -2}", "'rate' must be a number from 0 to 1000, got -2"),
        ("{highlight: ponger}", "{highlight: pongr}", "'pongr' is neither a channel address nor a subscriber"),
        ("caption: The pinger pings.", "caption: ''", "'caption' must not be empty"),
        # What only the JSON Schema looks at: an x-eventdeck field EventDeck does not know.
        ("address: ping", "address: ping\n    x-eventdeck-colour: red", "('x-eventdeck-colour' was unexpected)"),
    ],
)
def test_a_bad_scenario_names_the_file_the_line_and_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, problem: str
) -> None:
    text = SCENARIO.replace(old, new)
    path = write(tmp_path, text)
    assert asyncapi_check_main(path) == 1
    out, err = capsys.readouterr()
    assert out == ""
    line = next(number for number, row in enumerate(text.splitlines(), 1) if new.splitlines()[-1] in row)
    assert err.startswith(f"error: {path}, line {line}: #/")
    assert problem in err


def test_a_2_6_document_with_x_eventdeck_fields_is_not_a_scenario(tmp_path: Path) -> None:
    text = """\
asyncapi: 2.6.0
info: {title: Old, version: '1'}
channels:
  ping:
    publish:
      message: {payload: {type: object}}
      x-eventdeck-publisher: {name: pinger}
"""
    with pytest.raises(AsyncApiError, match=r"AsyncAPI 2\.6\.0 is not supported yet; workspaces are AsyncAPI 3\.x"):
        check(write(tmp_path, text))
