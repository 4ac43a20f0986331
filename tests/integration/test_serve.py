"""`eventdeck serve`: headless broker and gateways, logged, stopped cleanly by SIGTERM."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventdeck.core.asyncapi import parse_document
from eventdeck.core.recording import read_recording

SERVE = [sys.executable, "-m", "eventdeck.gui.app", "serve"]
MQTT_LOGIN = ["--mqtt-user", "alice"]


def start_serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "eventdeck.gui.app", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def serve_fails(*args: str, code: int = 1) -> str:
    """Run serve, which must exit with ``code`` on its own; its output, which never holds a traceback."""
    process = start_serve(*args)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == code, output
    assert "Traceback" not in output
    return output


def read_until(process: subprocess.Popen[str], pattern: str, timeout: float = 20) -> tuple[re.Match[str], str]:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        match = re.search(pattern, line)
        if match:
            return match, seen
    raise AssertionError(f"{pattern!r} never appeared in:\n{seen}")


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    process = start_serve("--mqtt", "127.0.0.1:0", "--http", "127.0.0.1:0", "--summary-every", "0.3")
    mqtt, _ = read_until(process, r"MQTT gateway listening on 127\.0\.0\.1:(\d+)")
    http, _ = read_until(process, r"HTTP gateway listening on 127\.0\.0\.1:(\d+)")
    yield process, int(http.group(1)), int(mqtt.group(1))
    if process.poll() is None:
        process.kill()
        process.wait()


def test_serve_publishes_logs_and_stops_cleanly(served: tuple[subprocess.Popen[str], int, int]) -> None:
    process, port, mqtt_port = served
    if shutil.which("mosquitto_pub") is None:
        pytest.skip("mosquitto_pub is not installed (Debian package mosquitto-clients)")
    subprocess.run(
        ["mosquitto_pub", "-p", str(mqtt_port), "-i", "sensor-7", "-t", "fridge/door", "-m", "open", "-q", "1"],
        check=True,
        timeout=20,
    )
    read_until(process, r"mqtt client 'sensor-7' from 127\.0\.0\.1:\d+ connected")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/channels/fridge/level",
        data=json.dumps({"percent": 23}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 202
    read_until(process, r"2 published, 2 channels")
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "stopped cleanly" in rest
    assert "Traceback" not in rest


def test_serve_says_why_when_the_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_serve("--mqtt", "off", "--http", f"127.0.0.1:{port}")
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in output
    assert "Traceback" not in output


def test_serve_refuses_a_public_listener_without_a_token() -> None:
    assert "credentials" in serve_fails("--mqtt", "0.0.0.0:0", "--http", "off")


def test_serve_rejects_a_bad_endpoint_with_a_usage_error() -> None:
    assert "the port must be a number" in serve_fails("--http", "somewhere:http", code=2)


def test_serve_exports_what_it_observed_as_asyncapi(tmp_path: Path) -> None:
    export = tmp_path / "observed.yaml"
    process = start_serve("--mqtt", "off", "--http", "127.0.0.1:0", "--export-asyncapi", str(export))
    match, _ = read_until(process, r"HTTP gateway listening on 127\.0\.0\.1:(\d+)")
    port = int(match.group(1))
    for name, age in (("Ada", 36), ("Grace", 45)):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/channels/user/signedup",
            data=json.dumps({"name": name, "email": f"{name.lower()}@example.com", "age": age}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202
    time.sleep(0.5)  # the recorder drains the tap five times a second
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"written to {export}" in output
    document = parse_document(export.read_text(), str(export))
    assert [channel.address for channel in document.channels] == ["user/signedup"]
    payload = document.channels[0].messages[0].payload
    assert payload is not None
    assert payload["properties"]["email"]["format"] == "email"
    assert sorted(payload["required"]) == ["age", "email", "name"]


def test_serve_records_every_message_as_it_passes(tmp_path: Path) -> None:
    recording = tmp_path / "traffic.jsonl"
    process = start_serve("--mqtt", "off", "--http", "127.0.0.1:0", "--record", str(recording))
    match, _ = read_until(process, r"HTTP gateway listening on 127\.0\.0\.1:(\d+)")
    port = int(match.group(1))
    for percent in (23, 22):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/channels/fridge/level",
            data=json.dumps({"percent": percent}).encode(),
            headers={"Content-Type": "application/json", "X-Unit": "percent"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202
    deadline = time.monotonic() + 10
    while recording.read_text(encoding="utf-8").count("\n") < 2:  # written while serving, not only at the end
        assert time.monotonic() < deadline, "nothing recorded while serving"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"2 messages recorded to {recording}" in output
    saved = read_recording(recording)
    assert [(m.channel, m.json()) for m in saved] == [
        ("fridge/level", {"percent": 23}),
        ("fridge/level", {"percent": 22}),
    ]


def test_serve_says_why_it_cannot_record(tmp_path: Path) -> None:
    output = serve_fails("--mqtt", "off", "--http", "off", "--record", str(tmp_path / "missing" / "x.jsonl"))
    assert "cannot record to" in output
    assert "No such file or directory" in output
    assert "Traceback" not in output


def test_a_serve_that_cannot_start_leaves_an_existing_recording_alone(tmp_path: Path) -> None:
    kept = tmp_path / "yesterday.jsonl"
    kept.write_text("precious\n", encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start_serve("--mqtt", "off", "--http", f"127.0.0.1:{taken.getsockname()[1]}", "--record", str(kept))
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 1, output
    assert kept.read_text(encoding="utf-8") == "precious\n"


def test_serve_never_replaces_an_earlier_recording(tmp_path: Path) -> None:
    earlier = tmp_path / "before-the-crash.jsonl"
    earlier.write_text('{"channel": "precious"}\n', encoding="utf-8")
    output = serve_fails("--mqtt", "off", "--http", "127.0.0.1:0", "--record", str(earlier))
    assert "it already exists (a recording from an earlier run?)" in output
    assert earlier.read_text(encoding="utf-8") == '{"channel": "precious"}\n'


def test_serve_refuses_access_rules_it_cannot_use_and_says_where(tmp_path: Path) -> None:
    rules = tmp_path / "rules.acl"
    rules.write_text("user alice\ntopic sometimes fridge/#\nlistener 1883\n", encoding="utf-8")
    output = serve_fails("--mqtt", "127.0.0.1:0", "--http", "off", "--acl", str(rules), code=2)
    assert f"{rules}:3: unknown line 'listener'" in output


def test_serve_takes_the_http_token_from_a_file(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n", encoding="utf-8")
    process = start_serve("--mqtt", "off", "--http", "127.0.0.1:0", "--http-token-file", str(token))
    try:
        http, _ = read_until(process, r"HTTP gateway listening on 127\.0\.0\.1:(\d+)")
        url = f"http://127.0.0.1:{http.group(1)}/stats"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
        asked = urllib.request.Request(url, headers={"Authorization": "Bearer s3cret"})
        with urllib.request.urlopen(asked, timeout=10) as answer:
            assert answer.status == 200
    finally:
        process.terminate()
        process.communicate(timeout=20)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full to fill a disk")
def test_a_full_disk_stops_the_recording_not_the_broker() -> None:
    process = start_serve("--mqtt", "off", "--http", "127.0.0.1:0", "--record", "/dev/full")
    match, _ = read_until(process, r"HTTP gateway listening on 127\.0\.0\.1:(\d+)")
    port = int(match.group(1))

    def post(value: int) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/channels/a/b", data=str(value).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status

    assert post(1) == 202
    read_until(process, r"recording stopped after 0 messages: /dev/full: No space left on device; the broker keeps")
    assert post(2) == 202  # still serving
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 1, output  # it served to the end, but the recording is incomplete
    assert "stopped; the recording is incomplete: /dev/full: No space left on device" in output
    assert "Traceback" not in output


def check_asyncapi(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventdeck.gui.app", "asyncapi", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_asyncapi_check_prints_a_summary_or_the_error(tmp_path: Path) -> None:
    good = tmp_path / "fridge.yaml"
    good.write_text(
        "asyncapi: 3.0.0\ninfo: {title: Fridge, version: 1.0.0}\n"
        "channels:\n  level:\n    address: fridge/level\n    messages:\n      reading:\n"
        "        payload: {type: object, properties: {percent: {type: integer}}}\n"
    )
    result = check_asyncapi(good)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["title"] == "Fridge"
    assert summary["channels"]["count"] == 1

    bad = tmp_path / "broken.yaml"
    bad.write_text("asyncapi: 3.0.0\ninfo: [unclosed\n")
    result = check_asyncapi(bad)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "broken.yaml" in result.stderr
    assert "line 3: invalid YAML" in result.stderr  # where the parser found the sequence unclosed


def test_serve_mqtt_credentials_and_limits() -> None:
    if shutil.which("mosquitto_pub") is None:
        pytest.skip("mosquitto_pub is not installed (Debian package mosquitto-clients)")
    env = {**os.environ, "EVENTDECK_MQTT_PASSWORD": "s3cret"}
    process = subprocess.Popen(
        [*SERVE, "--http", "off", "--mqtt", "127.0.0.1:0", *MQTT_LOGIN, "--mqtt-limit", "max_packet_size=4096"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        match, _ = read_until(process, r"MQTT gateway listening on 127\.0\.0\.1:(\d+)")
        port = match.group(1)
        refused = subprocess.run(
            ["mosquitto_pub", "-p", port, "-t", "a", "-m", "x", "-u", "alice", "-P", "wrong"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert refused.returncode != 0
        accepted = subprocess.run(
            ["mosquitto_pub", "-p", port, "-t", "a", "-m", "x", "-u", "alice", "-P", "s3cret"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert accepted.returncode == 0, accepted.stderr
        too_big = subprocess.run(
            ["mosquitto_pub", "-p", port, "-t", "a", "-m", "x" * 10_000, "-u", "alice", "-P", "s3cret", "-q", "1"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert too_big.returncode != 0  # over max_packet_size: the gateway closes the connection
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    assert process.returncode == 0


def test_serve_explains_bad_mqtt_settings() -> None:
    for args, reason in (
        (["--mqtt-limit", "nope=1"], "unknown MQTT limit 'nope'"),
        (["--mqtt-user", "bob"], "EVENTDECK_MQTT_PASSWORD"),
    ):
        env = {k: v for k, v in os.environ.items() if k != "EVENTDECK_MQTT_PASSWORD"}
        result = subprocess.run(
            [sys.executable, "-m", "eventdeck.gui.app", "serve", *args],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=False,
        )
        assert result.returncode == 2
        assert reason in result.stderr
