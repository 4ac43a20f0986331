"""The MQTT connector against the real Mosquitto on 1883 (and a private one for reconnects)."""

from __future__ import annotations

import asyncio
import getpass
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from eventdeck.core import Kind
from eventdeck.core.connectors import ConnectorError, backend_from_url
from eventdeck.core.connectors.mqtt import MqttBackend
from eventdeck.core.recording import plan_replay, read_recording, replay
from tests.integration import connector_support as support

pytestmark = pytest.mark.services
URL = "mqtt://127.0.0.1:1883"


backend = support.backend_fixture(URL, MqttBackend, "Mosquitto")


async def mosquitto_pub(*args: str) -> None:
    await support.run(support.require_binary("mosquitto_pub"), "-h", "127.0.0.1", "-p", "1883", *args)


async def test_traffic_from_mosquitto_pub_shows_in_the_mirror(backend: MqttBackend) -> None:
    message = await support.next_message(
        backend.broker, "edtest/mqtt/#", lambda: mosquitto_pub("-t", "edtest/mqtt/temp", "-m", '{"c": 21}', "-q", "1")
    )
    assert message.channel == "edtest/mqtt/temp"
    assert message.json() == {"c": 21}
    assert message.kind is Kind.EVENT
    assert "edtest/mqtt/temp" in {info.name for info in backend.broker.channels()}
    assert backend.capabilities.lists_subscribers is False
    assert backend.subscriptions() is None  # "not exposed", never an empty list


async def test_tap_sees_mirrored_traffic(backend: MqttBackend) -> None:
    tap = backend.broker.tap()
    await support.next_message(backend.broker, "edtest/tap", lambda: mosquitto_pub("-t", "edtest/tap", "-m", "hello"))
    channels = [getattr(item, "channel", None) for item in tap.drain().events]
    assert "edtest/tap" in channels


async def test_events_reach_an_independent_subscriber_with_headers_and_retain(backend: MqttBackend) -> None:
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as other:
        await other.subscribe("edtest/out/#", qos=1)
        await backend.publish("edtest/out/a", {"v": 1}, headers={"source": "test"})
        async with asyncio.timeout(support.WAIT):
            received = await anext(aiter(other.messages))
        assert received.payload == b'{"v":1}'
        assert received.properties is not None
        assert dict(received.properties.UserProperty) == {"source": "test"}

    await backend.publish("edtest/retained", {"level": 3}, retain=True)
    try:
        async with aiomqtt.Client("127.0.0.1", 1883) as late:
            await late.subscribe("edtest/retained")
            async with asyncio.timeout(support.WAIT):
                kept = await anext(aiter(late.messages))
        assert kept.retain
        assert kept.payload == b'{"level":3}'
        await support.wait_until(
            lambda: backend.broker.retained("edtest/retained") is not None, "retained in the mirror"
        )
    finally:
        await backend.publish("edtest/retained", b"", retain=True)


async def test_command_gets_reply_from_an_independent_mqtt5_responder(backend: MqttBackend) -> None:
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as responder:
        await responder.subscribe("edtest/cmd/#", qos=1)

        async def answer() -> None:
            async for command in responder.messages:
                props = command.properties
                assert props is not None
                reply = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                reply.CorrelationData = props.CorrelationData
                await responder.publish(props.ResponseTopic, b'{"ok":true}', qos=1, properties=reply)
                return

        task = asyncio.create_task(answer())
        reply = await backend.request("edtest/cmd/open", {"door": "front"}, timeout=support.WAIT)
        await task
    assert reply.kind is Kind.REPLY
    assert reply.json() == {"ok": True}
    assert reply.channel == backend.reply_topic
    commands = [info for info in backend.broker.channels() if info.name == "edtest/cmd/open"]
    assert commands
    assert commands[0].messages >= 1


async def test_request_without_responder_times_out(backend: MqttBackend) -> None:
    with pytest.raises(TimeoutError, match="no reply from 'edtest/nobody'"):
        await backend.request("edtest/nobody", {}, timeout=0.3)


async def test_specific_errors() -> None:
    await support.check_network_failures_are_named("mqtt")


async def test_publish_while_disconnected_says_so() -> None:
    connector = backend_from_url(URL)
    with pytest.raises(ConnectorError, match=r"not connected to mqtt://127\.0\.0\.1:1883"):
        await connector.publish("edtest/x", {})


async def test_wrong_password_is_named(tmp_path: Path) -> None:
    binary = support.require_binary("mosquitto")
    port = support.free_port()
    passwords = tmp_path / "passwd"
    await support.run(support.require_binary("mosquitto_passwd"), "-b", "-c", str(passwords), "alice", "right")
    config = tmp_path / "mosquitto.conf"
    # 'user' keeps a root-run mosquitto from switching to a user who cannot read tmp_path
    config.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
    )
    async with support.PrivateServer([binary, "-c", str(config)], port):
        with pytest.raises(ConnectorError, match=r"refused alice: .*(authori|password)"):
            await backend_from_url(f"mqtt://alice:wrong@127.0.0.1:{port}").start()


async def test_reconnects_and_marks_the_gap() -> None:
    port = support.free_port()
    mosquitto = support.PrivateServer([support.require_binary("mosquitto"), "-p", str(port)], port)
    await support.check_reconnect_to(mosquitto, f"mqtt://127.0.0.1:{port}")


async def test_mqtt_311_has_no_headers_or_commands() -> None:
    async with support.connected(URL, MqttBackend, "Mosquitto", protocol=3) as connector:
        message = await support.next_message(
            connector.broker, "edtest/v3", lambda: connector.publish("edtest/v3", {"v": 3})
        )
        assert message.json() == {"v": 3}
        with pytest.raises(ConnectorError, match="cannot carry message headers"):
            await connector.publish("edtest/v3", {}, headers={"a": "b"})
        with pytest.raises(ConnectorError, match="commands need MQTT 5"):
            await connector.request("edtest/v3", {})


async def test_tls_failures_name_the_host(tmp_path: Path) -> None:
    openssl = support.require_binary("openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    await support.run(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
              "-keyout", str(key), "-out", str(cert))  # fmt: skip
    key.chmod(0o644)
    port = support.free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\ncertfile {cert}\nkeyfile {key}\n"
    )
    async with support.PrivateServer([support.require_binary("mosquitto"), "-c", str(config)], port):
        with pytest.raises(ConnectorError, match=f"TLS failure with 127.0.0.1:{port}: certificate verify failed"):
            await backend_from_url(f"mqtts://127.0.0.1:{port}").start()
        trusted = backend_from_url(f"mqtts://localhost:{port}?ca={cert}")
        await trusted.start()
        await trusted.stop()
        unverified = backend_from_url(f"mqtts://127.0.0.1:{port}?verify=no")
        await unverified.start()
        await unverified.stop()


async def test_a_recording_replays_into_mosquitto(backend: MqttBackend, tmp_path: Path) -> None:
    path = tmp_path / "morning.jsonl"
    path.write_text(
        '{"timestamp": 1.0, "channel": "edtest/replay/a", "payload": "{\\"n\\": 1}", "headers": {"unit": "%"}}\n'
        '{"timestamp": 1.1, "channel": "$dead/edtest/replay/a", "payload": "{}"}\n'
        '{"timestamp": 1.2, "channel": "edtest/replay/b", "payload": "AAEC", "base64": true}\n',
        encoding="utf-8",
    )
    plan = plan_replay(read_recording(path))
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as other:
        await other.subscribe("edtest/replay/#", qos=1)
        progress = await replay(backend, plan, plan.progress(), speed=10.0)
        received = []
        async with asyncio.timeout(support.WAIT):
            async for message in other.messages:
                received.append(message)
                if len(received) == 2:
                    break
    assert [(str(m.topic), m.payload) for m in received] == [
        ("edtest/replay/a", b'{"n": 1}'),
        ("edtest/replay/b", b"\0\1\2"),
    ]
    assert received[0].properties is not None
    assert dict(received[0].properties.UserProperty) == {"unit": "%"}
    assert progress.summary() == "2 of 2 sent, skipped 1 (replies and $-channel messages)"


async def eventdeck(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "eventdeck.gui.app",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return await process.wait(), output.decode()


async def test_eventdeck_replay_sends_a_recording_into_mosquitto(tmp_path: Path) -> None:
    support.require_service(1883, "Mosquitto")
    path = tmp_path / "morning.jsonl"
    path.write_text(
        '{"timestamp": 5.0, "channel": "edtest/cli/a", "payload": "1"}\n'
        '{"timestamp": 5.1, "channel": "edtest/cli/b", "payload": "2"}\n',
        encoding="utf-8",
    )
    async with aiomqtt.Client("127.0.0.1", 1883) as other:
        await other.subscribe("edtest/cli/#", qos=1)
        code, output = await eventdeck("replay", str(path), "--into", URL, "--speed", "5")
        received = []
        async with asyncio.timeout(support.WAIT):
            async for message in other.messages:
                received.append((str(message.topic), message.payload))
                if len(received) == 2:
                    break
    assert code == 0, output
    assert "replay done: 2 of 2 sent" in output
    assert received == [("edtest/cli/a", b"1"), ("edtest/cli/b", b"2")]


async def test_eventdeck_replay_explains_what_stops_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"channel": "a/#"}\n', encoding="utf-8")
    code, output = await eventdeck("replay", str(broken), "--into", URL)
    assert code == 1
    assert "broken.jsonl, line 1: invalid channel 'a/#'" in output
    good = tmp_path / "good.jsonl"
    good.write_text('{"channel": "a/b"}\n', encoding="utf-8")
    code, output = await eventdeck("replay", str(good), "--into", f"mqtt://127.0.0.1:{support.free_port()}")
    assert code == 1
    assert "refused" in output
    assert "Traceback" not in output
    code, output = await eventdeck("replay", str(good), "--into", URL, "--fast", "--speed", "2")
    assert code == 2
    assert "not allowed with argument" in output


async def test_eventdeck_replay_stops_cleanly_on_a_signal_at_any_point(tmp_path: Path) -> None:
    connected = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        await reader.read()  # accepts the connection and never answers CONNECT

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    slow = tmp_path / "slow.jsonl"
    slow.write_text(
        '{"timestamp": 0, "channel": "edtest/slow", "payload": "1"}\n{"timestamp": 600, "channel": "edtest/slow"}\n',
        encoding="utf-8",
    )

    async def interrupted(url: str, signum: int, ready: Callable[[bytes], Awaitable[object]]) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "eventdeck.gui.app", "replay", str(slow), "--into", url),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdout is not None
        seen = b""
        async with asyncio.timeout(support.WAIT):
            while not await ready(seen):
                seen += await process.stdout.readline()
        process.send_signal(signum)
        output, _ = await asyncio.wait_for(process.communicate(), support.WAIT)
        return await process.wait(), (seen + output).decode()

    async def when_connecting(_seen: bytes) -> bool:
        await asyncio.wait_for(connected.wait(), support.WAIT)
        return True

    async def after_the_first_message(seen: bytes) -> bool:
        if b"replaying 2 messages" not in seen:
            return False
        await asyncio.sleep(0.5)  # the first is due at once; the second ten minutes later
        return True

    async with server:
        code, output = await interrupted(f"mqtt://127.0.0.1:{port}", signal.SIGINT, when_connecting)
        assert code == 130, output
        assert "replay stopped before it started" in output
        code, output = await interrupted(URL, signal.SIGTERM, after_the_first_message)
        assert code == 143, output
        assert "replay stopped: 1 of 2 sent" in output
        assert "Traceback" not in output
