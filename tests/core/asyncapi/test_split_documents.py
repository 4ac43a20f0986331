"""Document sets split across files: services sharing ``../common/`` servers, messages and schemas."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from eventdeck.core.asyncapi import AsyncApiError, Document, load_document, parse_document, validator_for
from eventdeck.core.asyncapi.remote import NOT_FETCHED
from tests.core.asyncapi.schema_server import SPLIT, split_set

HEAD = "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> AsyncApiError:
    with pytest.raises(AsyncApiError) as caught:
        load_document(path)
    return caught.value


def by_name(document: Document) -> dict[str, object]:
    return {message.name: message for message in document.messages}


def test_a_service_reads_its_servers_messages_and_schemas_from_common() -> None:
    document = load_document(SPLIT / "services" / "orders.yaml")
    assert [(s.name, s.host, s.protocol) for s in document.servers] == [
        ("production", "broker.shop.example:1883", "mqtt"),
        ("local", "localhost:1883", "mqtt"),
    ]
    order = document.channel("orderPlaced").messages[0]
    assert (order.name, order.title, order.origin) == (
        "OrderPlaced",
        "Order placed",
        "../common/messages.yaml#/OrderPlaced",
    )
    assert order.payload["properties"]["total"]["required"] == ["amount", "currency"]  # money.json, two files away
    assert order.examples[0].payload == {"id": "o-1", "total": {"amount": 12.5, "currency": "EUR"}}
    common = str(SPLIT / "common")
    assert [name.removeprefix(common) for name in document.files] == [
        "/servers.yaml",
        "/messages.yaml",
        "/schemas/order.yaml",
        "/schemas/money.json",
    ]


def test_both_services_share_the_one_definition_of_a_message() -> None:
    orders = load_document(SPLIT / "services" / "orders.yaml")
    shipping = load_document(SPLIT / "services" / "shipping.yaml")
    assert shipping.version == "2.6.0"
    assert shipping.servers[0].host == orders.servers[0].host
    shipped = shipping.channel("shop/orders/shipped").messages[0]
    assert shipped.origin == "../common/messages.yaml#/OrderShipped"
    assert (
        shipped.payload["properties"]["cost"]
        == orders.channel("orderPlaced").messages[0].payload["properties"]["total"]
    )


def test_schemas_from_other_files_validate_payloads() -> None:
    order = load_document(SPLIT / "services" / "orders.yaml").channel("orderPlaced").messages[0]
    check = validator_for(order)
    assert check.status == "validated"
    assert check.validate_value({"id": "o-1", "total": {"amount": 3, "currency": "EUR"}}) == []
    (issue,) = check.validate_value({"id": "o-1", "total": {"amount": 3, "currency": "euro"}})
    assert issue.path == "$.total.currency"
    assert "does not match" in issue.message


def test_a_missing_file_is_named_with_the_referring_file_its_line_and_the_path_tried(tmp_path: Path) -> None:
    services = split_set(tmp_path)
    money = services.parent / "common" / "schemas" / "money.json"
    money.unlink()
    error = error_of(services / "orders.yaml")
    assert error.file == str(services.parent / "common" / "schemas" / "order.yaml")
    assert error.line == 7  # "$ref: './money.json#/Money'" under Order.properties.total
    assert error.path == "#/Order/properties/total/$ref"
    assert "points to nothing: no file './money.json'" in error.problem
    assert f"({money}: no such file)" in error.problem


def test_a_folder_where_a_file_is_expected_is_named_too(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    path = write(tmp_path, "doc.yaml", HEAD + "components:\n  schemas:\n    X: {$ref: 'schemas'}\n")
    error = error_of(path)
    assert error.line == 5
    assert f"({tmp_path / 'schemas'}: a folder, not a file)" in error.problem


def test_absolute_paths_and_file_urls_reach_any_readable_file(tmp_path: Path) -> None:
    shared = write(tmp_path, "elsewhere/shared.yaml", "Note: {type: string, maxLength: 3}\n")
    path = write(
        tmp_path,
        "api/doc.yaml",
        HEAD + "channels:\n"
        f"  a: {{address: a, messages: {{m: {{payload: {{$ref: '{shared}#/Note'}}}}}}}}\n"
        f"  b: {{address: b, messages: {{m: {{payload: {{$ref: '{shared.as_uri()}#/Note'}}}}}}}}\n",
    )
    document = load_document(path)
    assert [c.messages[0].payload for c in document.channels] == [{"type": "string", "maxLength": 3}] * 2
    assert document.files == (str(tmp_path / "elsewhere" / "shared.yaml"),)
    # A document given as text reaches files by absolute path too (it has no folder for relative ones).
    text = HEAD + f"channels:\n  a: {{address: a, messages: {{m: {{payload: {{$ref: '{shared}#/Note'}}}}}}}}\n"
    assert parse_document(text).channels[0].messages[0].payload == {"type": "string", "maxLength": 3}


def test_a_cycle_across_files_is_reported_with_its_chain(tmp_path: Path) -> None:
    write(tmp_path, "common/a.yaml", "A: {type: object, properties: {b: {$ref: 'b.yaml#/B'}}}\n")
    write(tmp_path, "common/b.yaml", "B: {type: object, properties: {a: {$ref: 'a.yaml#/A'}}}\n")
    path = write(
        tmp_path, "services/doc.yaml", HEAD + "components:\n  schemas:\n    X: {$ref: '../common/a.yaml#/A'}\n"
    )
    error = error_of(path)
    assert error.file.endswith("b.yaml")
    assert error.line == 1
    assert "$ref cycle: ../common/a.yaml#/A -> ../common/b.yaml#/B -> ../common/a.yaml#/A" in error.problem


def test_the_size_cap_counts_over_all_files_of_the_set(tmp_path: Path) -> None:
    padding = "x" * (3 * 2**20)
    refs = "".join(f"    S{n}: {{$ref: '../common/s{n}.yaml#/S'}}\n" for n in range(3))
    for n in range(3):
        write(tmp_path, f"common/s{n}.yaml", f"S: {{type: string, description: '{padding}'}}\n")
    path = write(tmp_path, "services/doc.yaml", HEAD + "components:\n  schemas:\n" + refs)
    started = time.perf_counter()
    error = error_of(path)
    assert time.perf_counter() - started < 2.0
    assert error.file.endswith("s2.yaml")  # the third file would take the set past 8 MiB; each is 3 MiB
    assert "would be larger than 8 MiB together (6.0 MiB in 3 file(s) before it)" in error.problem


def test_the_values_cap_counts_over_all_files_of_the_set(tmp_path: Path) -> None:
    # Each file expands to about 1.2 million values through YAML aliases: fine alone, too many together.
    levels = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for previous, name in zip("abcde", "bcdef", strict=True):
        levels.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    for n in range(2):
        write(tmp_path, f"common/big{n}.yaml", "\n".join(levels) + "\n")
    refs = "".join(f"x-big{n}: {{$ref: '../common/big{n}.yaml#/a'}}\n" for n in range(2))
    alone = write(tmp_path, "services/one.yaml", HEAD + "x-big: {$ref: '../common/big0.yaml#/a'}\n")
    assert load_document(alone).extensions["x-big"] == [1] * 10
    error = error_of(write(tmp_path, "services/two.yaml", HEAD + refs))
    assert error.file.endswith("big1.yaml")
    assert "expands to more than 2,000,000 values" in error.problem


def test_schemas_in_other_formats_are_listed_with_their_format_not_failed() -> None:
    document = load_document(SPLIT / "services" / "shipping.yaml")
    statuses = {m.name: validator_for(m).status for m in document.messages}
    assert statuses == {
        "OrderShipped": "validated",
        "ParcelScanned": "not validated: application/vnd.apache.avro;version=1.9.0",
        "ParcelTracked": "not validated: application/vnd.google.protobuf;version=3",
        "ParcelLabelled": "not validated: application/raml+yaml;version=1.0",
    }
    messages = by_name(document)
    assert messages["ParcelScanned"].payload["fields"][0] == {"name": "parcel", "type": "string"}  # type: ignore[attr-defined]
    tracked = messages["ParcelTracked"].payload  # type: ignore[attr-defined]
    assert tracked.startswith('syntax = "proto3";\n\npackage shop.shipping;\n')  # a .proto file is read as text
    assert messages["ParcelLabelled"].payload["properties"] == {"parcel": "string", "address": "string"}  # type: ignore[attr-defined]


def test_an_offline_load_of_the_set_marks_the_remote_schema_and_calls_nobody() -> None:
    document = load_document(SPLIT / "services" / "orders.yaml")  # schemas.example.com is never asked
    customer = document.channel("customerUpdated").messages[0]
    assert customer.schema_status == NOT_FETCHED
    assert dict(customer.unavailable) == {"https://schemas.example.com/eventdeck/customer.json": NOT_FETCHED}
    assert dict(document.remote_refs) == {"https://schemas.example.com/eventdeck/customer.json": NOT_FETCHED}
