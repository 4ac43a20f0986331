"""The HTTP gateway over real sockets: curl publishes, aiohttp's client reads SSE and talks WebSocket."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import pytest

from eventdeck.core import Broker, Kind
from eventdeck.core.gateways.errors import GatewayError
from eventdeck.core.gateways.http.server import HttpGateway, StreamEvent

pytestmark = pytest.mark.filterwarnings("error")
WAIT = 10.0  # generous: the machine is shared; nothing here should take close to this


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture
async def gateway(broker: Broker) -> AsyncIterator[HttpGateway]:
    async with HttpGateway(broker, port=0, max_body=4096) as gateway:
        yield gateway


async def curl(*args: str) -> Reply:
    """Run curl without blocking the loop the gateway runs on; status, lower-case headers and body."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    process = await asyncio.create_subprocess_exec(
        "curl", "-s", "-S", "-i", "-H", "Expect:", "--max-time", str(WAIT), *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    head, _, body = out.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(int(status_line.split()[1]), headers, body)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 - broker state has no event to wait on
            await asyncio.sleep(0.01)


def http_subscriptions(broker: Broker) -> list[str]:
    return [info.name for info in broker.subscriptions() if info.name.startswith("http:")]


# -- publishing ----------------------------------------------------------------


async def test_a_plain_body_is_published_with_its_content_type_and_can_be_retained(
    broker: Broker, gateway: HttpGateway
) -> None:
    sub = broker.subscribe("fridge/#")
    reply = await curl("-H", "Content-Type: text/plain", "-d", "23 %", f"{gateway.url}/channels/fridge/level?retain=1")
    assert reply.status == 202
    answer = reply.json()
    message = (await sub.get(WAIT)).message
    assert answer == {"id": str(message.id), "channel": "fridge/level", "queued": 1}
    assert (message.payload, message.content_type, message.kind) == (b"23 %", "text/plain", Kind.EVENT)
    assert message.publisher == "http:127.0.0.1"
    assert broker.retained("fridge/level") == message
    assert reply.headers["x-content-type-options"] == "nosniff"


async def test_binary_cloudevent_attributes_become_headers_and_source_the_publisher(
    broker: Broker, gateway: HttpGateway
) -> None:
    sub = broker.subscribe("fridge/level")
    reply = await curl(
        "-H", "ce-specversion: 1.0", "-H", "ce-id: ev-1", "-H", "ce-source: /sensors/fridge",
        "-H", "ce-type: com.example.level", "-H", "ce-subject: caf%C3%A9", "-H", "Content-Type: application/json",
        "-d", '{"percent":23}', f"{gateway.url}/channels/fridge/level",
    )  # fmt: skip
    assert reply.status == 202, reply.body
    message = (await sub.get(WAIT)).message
    assert message.payload == b'{"percent":23}'
    assert message.content_type == "application/json"
    assert message.publisher == "/sensors/fridge"
    assert dict(message.headers) == {
        "ce-specversion": "1.0",
        "ce-id": "ev-1",
        "ce-source": "/sensors/fridge",
        "ce-type": "com.example.level",
        "ce-subject": "café",
    }


async def test_structured_cloudevent_with_base64_data_and_kind_from_a_header(
    broker: Broker, gateway: HttpGateway
) -> None:
    camera = broker.subscribe("cameras/snap")
    asking = asyncio.create_task(broker.request("cameras/snap", timeout=WAIT))
    command = (await camera.get(WAIT)).message  # the reply answers this command, still waiting for it
    assert command.reply_to is not None
    event = {
        "specversion": "1.0",
        "id": "ev-2",
        "source": "/cameras/door",
        "type": "com.example.snapshot",
        "datacontenttype": "image/png",
        "data_base64": base64.b64encode(b"\x89PNG\x00").decode(),
    }
    reply = await curl(
        "-H", "Content-Type: application/cloudevents+json; charset=utf-8",
        "-H", "X-EventDeck-Kind: reply", "-H", f"X-EventDeck-Correlation-Id: {command.correlation_id}",
        "-d", json.dumps(event), f"{gateway.url}/channels/{command.reply_to.replace('$', '%24')}",
    )  # fmt: skip
    assert reply.status == 202, reply.body
    message = await asking
    assert (message.payload, message.content_type) == (b"\x89PNG\x00", "image/png")
    assert (message.kind, message.correlation_id, message.publisher) == (
        Kind.REPLY,
        command.correlation_id,
        "/cameras/door",
    )
    assert message.headers["ce-type"] == "com.example.snapshot"


# -- commands ------------------------------------------------------------------


async def test_a_command_waits_for_its_reply_and_returns_it(broker: Broker, gateway: HttpGateway) -> None:
    handler = broker.subscribe("fridge/defrost")

    async def respond() -> None:
        command = (await handler.get(WAIT)).message
        assert command.kind is Kind.COMMAND
        await broker.reply(
            command, b"<done/>", content_type="application/xml", headers={"ce-id": "r-1"}, publisher="fridge"
        )

    responder = asyncio.create_task(respond())
    reply = await curl("-d", '{"minutes": 5}', f"{gateway.url}/channels/fridge/defrost?kind=command&timeout=5")
    await responder
    assert reply.status == 200
    assert reply.body == b"<done/>"
    assert reply.headers["content-type"] == "application/xml"
    assert reply.headers["ce-id"] == "r-1"
    assert reply.headers["x-eventdeck-publisher"] == "fridge"
    assert reply.headers["x-eventdeck-correlation-id"]


async def test_a_command_nobody_handles_is_404_and_one_nobody_answers_is_504(
    broker: Broker, gateway: HttpGateway
) -> None:
    missing = await curl("-d", "{}", f"{gateway.url}/channels/nobody/home?kind=command")
    assert missing.status == 404
    assert missing.json()["channel"] == "nobody/home"
    broker.subscribe("slow/worker")  # listens, never answers
    late = await curl("-d", "{}", "-H", "X-EventDeck-Timeout: 0.2", f"{gateway.url}/channels/slow/worker?kind=command")
    assert late.status == 504
    assert late.json()["elapsed"] >= 0.2
    assert "timed out" in late.json()["error"]


# -- errors ----------------------------------------------------------------------


async def test_bad_requests_get_json_errors_that_say_why(gateway: HttpGateway) -> None:
    url = gateway.url
    wildcard = await curl("-d", "x", f"{url}/channels/a/%23")
    assert wildcard.status == 400
    assert "wildcards" in wildcard.json()["reason"]
    empty = await curl("-d", "x", f"{url}/channels/")
    assert (empty.status, empty.json()["reason"]) == (400, "name is empty")
    no_type = await curl(
        "-H", "ce-specversion: 1.0", "-H", "ce-id: 1", "-H", "ce-source: /s", "-d", "x", f"{url}/channels/a"
    )
    assert (no_type.status, no_type.json()["attribute"]) == (400, "type")
    bad_kind = await curl("-d", "x", f"{url}/channels/a?kind=shout")
    assert bad_kind.status == 400
    assert "kind must be one of" in bad_kind.json()["error"]
    unknown = await curl(f"{url}/nowhere")
    assert (unknown.status, unknown.headers["content-type"].split(";")[0]) == (404, "application/json")
    wrong_method = await curl(f"{url}/channels/a")
    assert wrong_method.status == 405
    assert wrong_method.json()["status"] == 405


async def test_bodies_over_the_limit_are_413_with_or_without_a_length(gateway: HttpGateway, tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 5000)
    announced = await curl("--data-binary", f"@{big}", f"{gateway.url}/channels/a")
    assert announced.status == 413
    assert announced.json()["limit"] == 4096
    assert "4,096 bytes" in announced.json()["error"]
    chunked = await curl("-H", "Transfer-Encoding: chunked", "--data-binary", f"@{big}", f"{gateway.url}/channels/a")
    assert chunked.status == 413


async def test_a_body_that_never_arrives_is_408(broker: Broker) -> None:
    async with HttpGateway(broker, port=0, request_timeout=0.2) as gateway:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(b"POST /channels/a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        async with asyncio.timeout(WAIT):
            head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()
    assert head.startswith(b"HTTP/1.1 408")


async def test_channels_and_subscriptions_are_listed_as_the_panels_show_them(
    broker: Broker, gateway: HttpGateway
) -> None:
    broker.subscribe("fridge/#", name="shopping-list", durable=True)
    await broker.publish("fridge/level", {"percent": 23}, retain=True)
    channels = (await curl(f"{gateway.url}/channels")).json()
    level = next(channel for channel in channels if channel["name"] == "fridge/level")
    assert (level["messages"], level["retained"], level["subscribers"]) == (1, True, 1)
    subs = (await curl(f"{gateway.url}/subscriptions")).json()
    assert subs[0]["name"] == "shopping-list"
    assert (subs[0]["state"], subs[0]["durable"], subs[0]["pending"]) == ("active", True, 1)
    stats = (await curl(f"{gateway.url}/stats")).json()
    assert stats["published"] == 1


# -- streams ----------------------------------------------------------------------


async def next_sse_event(response: aiohttp.ClientResponse) -> dict[str, str]:
    """Read lines up to the next blank line; comments (keep-alives) are skipped."""
    fields: dict[str, str] = {}
    async with asyncio.timeout(WAIT):
        while True:
            line = (await response.content.readline()).decode().rstrip("\n")
            if not line and fields:
                return fields
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value


async def test_server_sent_events_stream_matching_messages_until_the_client_leaves(
    broker: Broker, gateway: HttpGateway
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.url}/subscribe", params={"pattern": "fridge/+"}) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        [name] = http_subscriptions(broker)
        assert name.startswith("http:127.0.0.1:")
        assert "/sse" in name
        await broker.publish("fridge/level", b"\xff\x00", content_type="application/octet-stream")
        await broker.publish("elsewhere", "ignored")
        await broker.publish("fridge/door", {"open": True}, kind=Kind.COMMAND, headers={"h": "v"})
        first, second = await next_sse_event(response), await next_sse_event(response)
        assert first["event"] == "event"
        data = json.loads(first["data"])
        assert (data["channel"], data["base64"], base64.b64decode(data["payload"])) == (
            "fridge/level",
            True,
            b"\xff\x00",
        )
        assert first["id"] == data["id"]
        assert second["event"] == "command"
        door = json.loads(second["data"])
        assert (door["payload"], door["headers"], door["kind"]) == ('{"open":true}', {"h": "v"}, "command")
        assert gateway.open_streams == 1
    await until(lambda: not http_subscriptions(broker))
    await until(lambda: gateway.open_streams == 0)


async def test_sse_without_a_pattern_streams_every_channel_and_a_bad_one_says_why(
    broker: Broker, gateway: HttpGateway
) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{gateway.url}/subscribe") as response:
        assert response.status == 200
        await until(lambda: len(http_subscriptions(broker)) == 1)
        await broker.publish("any/where", {"n": 1})
        event = await next_sse_event(response)
        assert json.loads(event["data"])["channel"] == "any/where"
    empty = await curl(f"{gateway.url}/subscribe?pattern=")
    assert empty.status == 400
    assert "%23" in empty.json()["error"]  # curl cut the '#': the error says how to write it
    bad = await curl(f"{gateway.url}/subscribe?pattern=a%23")
    assert bad.status == 400
    assert "'#' must fill a whole level" in bad.json()["reason"]
    assert bad.body.endswith(b"\n")  # the shell prompt after curl starts on a line of its own


async def test_the_root_lists_the_endpoints(gateway: HttpGateway) -> None:
    index = await curl(f"{gateway.url}/")
    assert index.status == 200
    endpoints = index.json()["endpoints"]
    assert {"POST /channels/{channel}", "GET /subscribe", "GET /ws"} <= set(endpoints)
    assert "%23" in endpoints["GET /subscribe"]


@pytest.mark.parametrize("body", ['{"bad json', '{"a": NaN}', "[Infinity]"])
async def test_a_json_body_that_is_not_json_is_refused_by_the_composers_rule(
    broker: Broker, gateway: HttpGateway, body: str
) -> None:
    mine = broker.subscribe("orders/new")
    refused = await curl("-H", "Content-Type: application/json", "-d", body, f"{gateway.url}/channels/orders/new")
    assert refused.status == 400
    assert refused.json()["error"].startswith("Invalid JSON")
    assert mine.pending == 0
    as_text = await curl("-H", "Content-Type: text/plain", "-d", body, f"{gateway.url}/channels/orders/new")
    assert as_text.status == 202


async def test_websocket_streams_envelopes_and_publishes_frames(broker: Broker, gateway: HttpGateway) -> None:
    mine = broker.subscribe("from/ws")
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway.url}/ws?pattern=to/%23") as ws:
        [name] = http_subscriptions(broker)
        assert "/ws" in name
        await broker.publish("to/ws", "hello", content_type="text/plain")
        frame = await ws.receive_json(timeout=WAIT)
        assert (frame["type"], frame["channel"], frame["payload"], frame["base64"]) == (
            "message",
            "to/ws",
            "hello",
            False,
        )
        await ws.send_json({"channel": "from/ws", "payload": {"x": 1}, "headers": {"h": "v"}, "ref": 7})
        ack = await ws.receive_json(timeout=WAIT)
        assert (ack["type"], ack["ref"], ack["channel"], ack["queued"]) == ("published", 7, "from/ws", 1)
        message = (await mine.get(WAIT)).message
        assert (message.payload, message.content_type, dict(message.headers)) == (
            b'{"x":1}',
            "application/json",
            {"h": "v"},
        )
        assert message.publisher == "http:127.0.0.1"
        assert ack["id"] == str(message.id)
    await until(lambda: not http_subscriptions(broker))


async def test_websocket_answers_bad_frames_with_errors_and_keeps_going(broker: Broker, gateway: HttpGateway) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway.url}/ws") as ws:
        await ws.send_str("{not json")
        assert "not valid JSON" in (await ws.receive_json(timeout=WAIT))["error"]
        await ws.send_str("[" * 3000)  # deeper than Python's parser follows: a reason, not a dropped socket
        assert "nested too deeply" in (await ws.receive_json(timeout=WAIT))["error"]
        await ws.send_bytes(b"\x00")
        assert "binary frames" in (await ws.receive_json(timeout=WAIT))["error"]
        await ws.send_json({"channel": "a/+", "ref": "r1"})
        error = await ws.receive_json(timeout=WAIT)
        assert (error["type"], error["status"], error["ref"]) == ("error", 400, "r1")
        await ws.send_json({"channel": "nobody", "kind": "command", "ref": "r2"})
        error = await ws.receive_json(timeout=WAIT)
        assert (error["status"], error["channel"], error["ref"]) == (404, "nobody", "r2")
        await ws.send_json({"channel": "still/alive"})
        assert (await ws.receive_json(timeout=WAIT))["type"] == "published"
    assert not http_subscriptions(broker)


async def test_json_nested_too_deeply_is_a_bad_request_not_a_server_error(gateway: HttpGateway) -> None:
    deep = "[" * 3000 + "]" * 500  # within max_body; the parser gives up long before the end
    reply = await curl(
        "-H", "Content-Type: application/cloudevents+json", "--data-binary", deep, f"{gateway.url}/channels/x"
    )
    assert reply.status == 400
    assert "nested too deeply" in reply.json()["error"]


async def test_websocket_commands_get_their_replies(broker: Broker, gateway: HttpGateway) -> None:
    handler = broker.subscribe("lamp/switch")

    async def respond() -> None:
        command = (await handler.get(WAIT)).message
        await broker.reply(command, {"on": True})

    responder = asyncio.create_task(respond())
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{gateway.url}/ws") as ws:
        await ws.send_json({"channel": "lamp/switch", "kind": "command", "payload": {"on": True}, "ref": 1})
        answer = await ws.receive_json(timeout=WAIT)
    await responder
    assert (answer["type"], answer["ref"]) == ("reply", 1)
    assert (answer["message"]["kind"], answer["message"]["payload"]) == ("reply", '{"on":true}')


# -- safety and lifecycle -----------------------------------------------------------


async def test_a_token_is_required_when_set(broker: Broker) -> None:
    async with HttpGateway(broker, port=0, token="s3cret") as gateway:
        url = f"{gateway.url}/channels/a"
        missing = await curl("-d", "x", url)
        assert missing.status == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert "missing bearer token" in missing.json()["error"]
        wrong = await curl("-H", "Authorization: Bearer nope", "-d", "x", url)
        assert (wrong.status, wrong.json()["error"]) == (401, "wrong bearer token")
        right = await curl("-H", "Authorization: Bearer s3cret", "-d", "x", url)
        assert right.status == 202
        async with aiohttp.ClientSession() as session:
            stream = f"{gateway.url}/subscribe?pattern=a&access_token=s3cret"
            async with session.get(stream) as response:
                assert response.status == 200


async def test_refuses_a_non_loopback_address_without_a_token(broker: Broker) -> None:
    gateway = HttpGateway(broker, "0.0.0.0", 0)
    with pytest.raises(GatewayError, match="not a loopback address, without a bearer token"):
        await gateway.start()
    assert not gateway.running


async def test_a_taken_port_is_reported_in_one_line(broker: Broker, gateway: HttpGateway) -> None:
    second = HttpGateway(broker, "127.0.0.1", gateway.port)
    with pytest.raises(GatewayError) as caught:
        await second.start()
    assert str(caught.value).startswith(f"port {gateway.port} on 127.0.0.1 is already in use")


async def test_too_many_requests_at_once_are_turned_away(broker: Broker) -> None:
    async with HttpGateway(broker, port=0, max_connections=1) as gateway, aiohttp.ClientSession() as session:
        async with session.get(f"{gateway.url}/subscribe?pattern=a") as stream:
            assert stream.status == 200
            busy = await curl(f"{gateway.url}/channels")
            assert busy.status == 503
            assert "limit 1" in busy.json()["error"]
        await until(lambda: gateway.open_streams == 0)
        assert (await curl(f"{gateway.url}/channels")).status == 200


async def test_stop_closes_open_streams_cleanly_and_reports_them(broker: Broker) -> None:
    events: list[StreamEvent] = []
    gateway = HttpGateway(broker, port=0, on_stream=events.append)
    await gateway.start()
    async with aiohttp.ClientSession() as session:
        sse = await session.get(f"{gateway.url}/subscribe?pattern=x/%23")
        ws = await session.ws_connect(f"{gateway.url}/ws?pattern=y")
        await until(lambda: gateway.open_streams == 2)
        assert [(event.opened, event.protocol, event.pattern) for event in events] == [
            (True, "sse", "x/#"),
            (True, "ws", "y"),
        ]
        await asyncio.wait_for(gateway.stop(), WAIT)
        async with asyncio.timeout(WAIT):
            assert await sse.content.read() == b": subscribed\n\n"  # then a clean end of stream
            closing = await ws.receive()
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert closing.data == aiohttp.WSCloseCode.GOING_AWAY
        await ws.close()
        sse.release()
    assert not http_subscriptions(broker)
    assert gateway.open_streams == 0
    assert sorted((event.opened, event.protocol) for event in events[2:]) == [(False, "sse"), (False, "ws")]
    stats = gateway.stats()
    assert (stats.open_streams, stats.streams_opened) == (0, 2)
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_a_broken_stream_observer_does_not_break_streams(broker: Broker) -> None:
    def explode(event: StreamEvent) -> None:
        raise RuntimeError("observer bug")

    async with (
        HttpGateway(broker, port=0, on_stream=explode) as gateway,
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{gateway.url}/ws") as ws,
    ):
        await ws.send_json({"channel": "a"})
        assert (await ws.receive_json(timeout=WAIT))["type"] == "published"


@pytest.mark.parametrize("with_handshake", [False, True], ids=["after the handshake", "in the handshake's packet"])
async def test_an_unmasked_client_frame_closes_the_websocket_with_1002(
    broker: Broker, gateway: HttpGateway, with_handshake: bool
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    handshake = (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    forged = json.dumps({"channel": "forged"}).encode()
    unmasked = bytes([0x81, len(forged)]) + forged
    if with_handshake:
        writer.write(handshake + unmasked)
    else:
        writer.write(handshake)
        assert b"101" in await reader.readuntil(b"\r\n\r\n")
        writer.write(unmasked)
    async with asyncio.timeout(WAIT):
        received = await reader.read()  # the server closes
    close = received[received.rindex(b"\x88") :]
    assert int.from_bytes(close[2:4], "big") == 1002
    assert b"must be masked" in close
    assert broker.stats().published == 0
    writer.close()


# -- paging ---------------------------------------------------------------------------


async def test_channels_come_in_pages_linked_by_name(broker: Broker, gateway: HttpGateway) -> None:
    names = sorted([f"c/{n:04d}" for n in range(2_500)] + ["c/0999 & more/é"])
    for name in names:
        broker.declare_channel(name)
    url, pages = f"{gateway.url}/channels", []
    while True:
        reply = await curl(url)
        assert reply.status == 200
        assert reply.headers["x-total-count"] == "2501"
        pages.append([channel["name"] for channel in reply.json()])
        if "link" not in reply.headers:
            break
        link, _, rel = reply.headers["link"].partition(";")
        assert rel.strip() == 'rel="next"'
        url = gateway.url + link.strip("<>")
    assert [len(page) for page in pages] == [1_000, 1_000, 501]
    assert [name for page in pages for name in page] == names
    small = await curl(f"{gateway.url}/channels?after=c/2497&limit=2")
    assert [channel["name"] for channel in small.json()] == ["c/2498", "c/2499"]
    assert "link" not in small.headers


@pytest.mark.parametrize("limit", ["0", "10001", "ten", "-1", "1.5"])
async def test_a_bad_page_limit_is_a_bad_request(gateway: HttpGateway, limit: str) -> None:
    reply = await curl(f"{gateway.url}/channels?limit={limit}")
    assert reply.status == 400
    assert reply.json()["error"] == f"limit must be a whole number from 1 to 10,000, got {limit!r}"
