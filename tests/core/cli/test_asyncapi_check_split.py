"""``eventdeck asyncapi check`` on a split document set: its files, its remote references (fetched only with
``--fetch-remote-refs``) and the payloads it cannot validate, with the format or the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventdeck.core.asyncapi.remote import NOT_FETCHED
from eventdeck.core.cli.asyncapi_check import check
from eventdeck.gui.app import main
from tests.core.asyncapi.schema_server import SPLIT, serving, split_set


def test_the_summary_lists_the_files_and_the_schemas_it_does_not_validate() -> None:
    summary = check(SPLIT / "services" / "shipping.yaml")
    assert [Path(name).relative_to(SPLIT).as_posix() for name in summary["files"]] == [
        "common/servers.yaml",
        "common/messages.yaml",
        "common/schemas/order.yaml",
        "common/schemas/money.json",
        "common/schemas/parcel.avsc",
        "common/schemas/tracking.proto",
        "common/schemas/label.raml",
    ]
    assert summary["not_validated"] == [
        {"message": "ParcelScanned", "format": "application/vnd.apache.avro;version=1.9.0"},
        {"message": "ParcelTracked", "format": "application/vnd.google.protobuf;version=3"},
        {"message": "ParcelLabelled", "format": "application/raml+yaml;version=1.0"},
    ]
    assert summary["not_available"] == []
    assert summary["remote_refs"] == []


def test_remote_schemas_are_listed_as_not_available_unless_fetched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving() as server:
        orders = split_set(tmp_path, server.url) / "orders.yaml"
        assert main(["asyncapi", "check", str(orders)]) == 0
        offline = json.loads(capsys.readouterr().out)
        assert server.requests == []
        assert main(["asyncapi", "check", str(orders), "--fetch-remote-refs"]) == 0
        fetched = json.loads(capsys.readouterr().out)
    customer = f"{server.url}customer.json"
    assert offline["not_available"] == [{"message": "CustomerUpdated", "status": NOT_FETCHED, "references": [customer]}]
    assert offline["remote_refs"] == [{"url": customer, "status": NOT_FETCHED}]
    assert fetched["not_available"] == []
    assert fetched["remote_refs"] == [
        {"url": customer, "status": "fetched"},
        {"url": f"{server.url}address.json", "status": "fetched"},
    ]
    assert fetched["files"][-2:] == [customer, f"{server.url}address.json"]


def test_the_flag_may_come_before_the_command_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serving() as server:
        orders = split_set(tmp_path, server.url) / "orders.yaml"
        assert main(["--fetch-remote-refs", "asyncapi", "check", str(orders)]) == 0
    assert json.loads(capsys.readouterr().out)["not_available"] == []
