"""``eventdeck asyncapi check FILE``: one JSON summary on stdout and exit 0, or the error on stderr and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventdeck.core.cli.asyncapi_check import asyncapi_check_main, check
from tests.core.asyncapi.corpus import corpus_file


def test_summary_of_a_corpus_document() -> None:
    path = corpus_file("v3/streetlights-mqtt.yml")
    assert check(path) == {
        "file": str(path),
        "asyncapi": "3.1.0",
        "title": "Streetlights MQTT API",
        "version": "1.0.0",
        "channels": {
            "count": 4,
            "names": ["lightingMeasured", "lightTurnOn", "lightTurnOff", "lightsDim"],
            "addresses": [
                "smartylighting/streetlights/1/0/event/{streetlightId}/lighting/measured",
                "smartylighting/streetlights/1/0/action/{streetlightId}/turn/on",
                "smartylighting/streetlights/1/0/action/{streetlightId}/turn/off",
                "smartylighting/streetlights/1/0/action/{streetlightId}/dim",
            ],
        },
        "messages": {"count": 3, "names": ["lightMeasured", "turnOnOff", "dimLight"]},
        "operations": {
            "count": 4,
            "names": ["receiveLightMeasurement", "turnOn", "turnOff", "dimLight"],
            "commands": [],
        },
        "servers": {"count": 1, "names": ["production"]},
        "not_validated": [],
    }


def test_main_prints_one_json_object_and_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus_file("v2.6/rpc-server.yml")
    assert asyncapi_check_main(path) == 0
    out, err = capsys.readouterr()
    assert err == ""
    summary = json.loads(out)
    assert (summary["asyncapi"], summary["channels"]["count"], summary["operations"]["names"]) == (
        "2.6.0",
        2,
        ["sendSumResult", "sum"],
    )


def test_main_prints_the_error_and_returns_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("asyncapi: 9.9.9\ninfo: {title: t, version: '1'}\n", encoding="utf-8")
    assert asyncapi_check_main(path) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {path}, line 1: #/asyncapi: unsupported AsyncAPI version '9.9.9'")
