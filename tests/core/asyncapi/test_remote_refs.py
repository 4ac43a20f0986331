"""Remote ``$ref``s: not fetched unless allowed (the document loads, their schemas are marked and skipped);
fetched from a local HTTP server when allowed, within a timeout and the size cap."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventdeck.core import Kind, Message
from eventdeck.core.asyncapi import AsyncApiError, Document, load_document, validator_for
from eventdeck.core.asyncapi.live import LiveValidator
from eventdeck.core.asyncapi.loader import MAX_DOCUMENT_BYTES, read_file
from eventdeck.core.asyncapi.normalise import normalise
from eventdeck.core.asyncapi.remote import NOT_FETCHED, RemoteRefs
from tests.core.asyncapi.schema_server import SchemaServer, serving, split_set

HEAD = "asyncapi: 3.0.0\ninfo: {title: t, version: '1'}\n"


@pytest.fixture
def server() -> Iterator[SchemaServer]:
    with serving() as running:
        yield running


@pytest.fixture
def orders(tmp_path: Path, server: SchemaServer) -> Path:
    return split_set(tmp_path, server.url) / "orders.yaml"


def message(number: int, channel: str, payload: object) -> Message:
    return Message(
        number, channel, Kind.EVENT, json.dumps(payload).encode(), "application/json", {}, 0.0, "t", None, None
    )


def one_payload(tmp_path: Path, url: str, fetch: bool = True, timeout: float = 5.0) -> Document:
    """A document whose one message's payload is ``{$ref: url}``, loaded with fetching allowed or not."""
    path = tmp_path / "doc.yaml"
    path.write_text(HEAD + f"channels:\n  c: {{address: c, messages: {{m: {{payload: {{$ref: '{url}'}}}}}}}}\n")
    return normalise(read_file(path, str(path)), RemoteRefs(fetch=fetch, timeout=timeout))


def test_remote_refs_are_not_fetched_by_default_and_the_document_still_loads(
    orders: Path, server: SchemaServer
) -> None:
    document = load_document(orders)
    assert server.requests == []
    customer = document.channel("customerUpdated").messages[0]
    url = f"{server.url}customer.json"
    assert validator_for(customer).status == "not available (remote reference, not fetched)" == NOT_FETCHED
    assert dict(customer.unavailable) == {url: NOT_FETCHED}
    assert dict(document.remote_refs) == {url: NOT_FETCHED}
    assert validator_for(document.channel("orderPlaced").messages[0]).status == "validated"


def test_live_validation_skips_them_and_says_so(orders: Path) -> None:
    live = LiveValidator(load_document(orders))
    assert live.status_for("shop/customers/updated") == NOT_FETCHED
    assert live.notes_for("shop/customers/updated") == ("CustomerUpdated: " + NOT_FETCHED,)
    assert not live.check([message(1, "shop/customers/updated", {"not": "a customer"})])
    assert live.check([message(2, "shop/orders/placed", {"id": "o-2"})])
    assert set(live.counts()) == {"shop/orders/placed"}
    assert live.issues_for(1) == ()


def test_allowed_they_are_fetched_with_the_references_inside_them(orders: Path, server: SchemaServer) -> None:
    document = load_document(orders, fetch_remote_refs=True)
    customer = document.channel("customerUpdated").messages[0]
    assert customer.unavailable == {}
    assert customer.payload["properties"]["address"]["required"] == ["city"]  # address.json, beside customer.json
    assert sorted(server.requests) == ["/address.json", "/customer.json"]
    assert document.files[-2:] == (f"{server.url}customer.json", f"{server.url}address.json")
    assert dict(document.remote_refs) == {f"{server.url}customer.json": None, f"{server.url}address.json": None}
    check = validator_for(customer)
    assert check.validate_value({"id": "c-1", "email": "ana@example.com", "address": {"city": "Porto"}}) == []
    (issue,) = check.validate_value({"id": "c-1", "email": "ana@example.com", "address": {}})
    assert (issue.path, issue.message) == ("$.address", "'city' is a required property")


def test_a_remote_message_not_fetched_is_kept_by_name(tmp_path: Path, server: SchemaServer) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(
        HEAD + f"channels:\n  c: {{address: c, messages: {{customer: {{$ref: '{server.url}customer.json'}}}}}}\n"
    )
    (customer,) = load_document(path).messages
    assert (customer.name, customer.origin, customer.schema_status) == (
        "customer",
        f"{server.url}customer.json",
        NOT_FETCHED,
    )
    assert server.requests == []


def test_a_remote_channel_not_fetched_says_how_to_allow_fetching(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(HEAD + "channels:\n  c: {$ref: 'https://schemas.example.com/channels.yaml#/c'}\n")
    with pytest.raises(AsyncApiError) as caught:
        load_document(path)
    assert caught.value.line == 4
    assert caught.value.path == "#/channels/c/$ref"
    assert "not available (remote reference, not fetched); remote references are fetched only when allowed: " in str(
        caught.value
    )
    assert "--fetch-remote-refs" in str(caught.value)


def test_a_slow_server_is_given_up_on_after_the_timeout(tmp_path: Path, server: SchemaServer) -> None:
    started = time.perf_counter()
    (spec,) = one_payload(tmp_path, f"{server.url}slow.json", timeout=0.5).messages
    assert time.perf_counter() - started < 2.0
    assert spec.schema_status == "not available (remote reference, could not be fetched: no answer within 0.5 s)"


def test_the_timeout_is_for_all_the_remote_documents_of_the_set(tmp_path: Path, server: SchemaServer) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(
        HEAD + "channels:\n"
        f"  a: {{address: a, messages: {{m: {{payload: {{$ref: '{server.url}slow.json'}}}}}}}}\n"
        f"  b: {{address: b, messages: {{m: {{payload: {{$ref: '{server.url}slow.json?again'}}}}}}}}\n"
    )
    started = time.perf_counter()
    first, second = normalise(read_file(path, str(path)), RemoteRefs(fetch=True, timeout=0.5)).messages
    assert time.perf_counter() - started < 2.0
    assert first.schema_status == "not available (remote reference, could not be fetched: no answer within 0.5 s)"
    assert second.schema_status == (
        "not available (remote reference, not fetched: the remote references before it took the 0.5 s allowed "
        "for all of them)"
    )


@pytest.mark.parametrize("path", ["huge.json", "endless.json"])
def test_a_document_over_the_size_cap_is_not_read_whole(tmp_path: Path, server: SchemaServer, path: str) -> None:
    (spec,) = one_payload(tmp_path, f"{server.url}{path}").messages
    over = (
        r"not available \(remote reference, [\d,]+ bytes or more, "
        r"over the ([\d,]+) bytes left of the document set's 8 MiB cap\)"
    )
    match = re.fullmatch(over, spec.schema_status)
    assert match is not None, spec.schema_status
    assert int(match.group(1).replace(",", "")) == MAX_DOCUMENT_BYTES - len((tmp_path / "doc.yaml").read_text())


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("missing.json", "not available (remote reference, could not be fetched: HTTP 404 File not found)"),
        (
            "to-ftp.json",
            "not available (remote reference, could not be fetched: HTTP 302 redirected to "
            "ftp://example.com/schema.json, which is not an http(s) URL)",
        ),
    ],
)
def test_failures_to_fetch_are_named(tmp_path: Path, server: SchemaServer, path: str, status: str) -> None:
    (spec,) = one_payload(tmp_path, f"{server.url}{path}").messages
    assert spec.schema_status == status


def test_a_fetched_document_cannot_reach_local_files(tmp_path: Path) -> None:
    web = tmp_path / "web"
    web.mkdir()
    secret = tmp_path / "secret.yaml"
    secret.write_text("S: {type: string}\n")
    (web / "sneaky.json").write_text(json.dumps({"$ref": f"{secret.as_uri()}#/S"}))
    with serving(web) as sneaky:
        (spec,) = one_payload(tmp_path, f"{sneaky.url}sneaky.json").messages
    assert spec.schema_status == (
        "not available (remote reference, a document from the web may refer only to http(s) URLs, "
        f"not {secret.as_uri()})"
    )


def test_a_fetched_document_that_is_not_yaml_is_not_available_and_says_why(tmp_path: Path) -> None:
    web = tmp_path / "web"
    web.mkdir()
    (web / "broken.yaml").write_text("a: [1, 2\n")
    with serving(web) as broken:
        (spec,) = one_payload(tmp_path, f"{broken.url}broken.yaml").messages
    assert spec.schema_status.startswith("not available (remote reference, invalid YAML, column 1: ")
    assert spec.schema_status.endswith(" at line 2)")
