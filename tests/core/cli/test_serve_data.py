"""``eventdeck serve --data DIR``, for real: what an MQTT client's persistent session had queued survives kill -9."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

SERVE = [sys.executable, "-m", "eventdeck.gui.app", "serve", "--mqtt", "127.0.0.1:0", "--http", "off"]


def _start(*extra: str) -> tuple[subprocess.Popen[str], int, str]:
    """serve on a free port: the process, its MQTT port, its output until it listened."""
    process = subprocess.Popen([*SERVE, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen += line
        listening = re.search(r"MQTT gateway listening on 127\.0\.0\.1:(\d+)", line)
        if listening:
            return process, int(listening.group(1)), seen
        if not line:
            break
    process.kill()
    raise AssertionError(seen)


def _mqtt(tool: str, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, "-h", "127.0.0.1", "-p", str(port), *args], capture_output=True, text=True, timeout=15, check=False
    )


def test_without_data_serve_says_it_keeps_everything_in_memory() -> None:
    process, _port, seen = _start()
    process.kill()
    process.wait()
    assert "keeps everything in memory" in seen


def test_a_second_serve_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    first, _port, seen = _start("--data", str(tmp_path))
    try:
        assert f"broker data in {tmp_path}" in seen
        second = subprocess.run(
            [*SERVE, "--data", str(tmp_path)], capture_output=True, text=True, timeout=30, check=False
        )
        assert second.returncode == 1
        assert "in use by another EventDeck process" in second.stderr + second.stdout
    finally:
        first.kill()
        first.wait()


def test_queued_qos1_messages_of_a_persistent_session_survive_kill_9(tmp_path: Path) -> None:
    if shutil.which("mosquitto_sub") is None or shutil.which("mosquitto_pub") is None:
        pytest.skip("mosquitto clients are not installed (Debian package mosquitto-clients)")
    process, port, _ = _start("--data", str(tmp_path))
    try:
        subscribed = _mqtt("mosquitto_sub", port, "-c", "-i", "keeper", "-q", "1", "-t", "orders/#", "-E")
        assert subscribed.returncode == 0, subscribed.stderr
        for n in range(5):  # mosquitto_pub returns once the broker sent PUBACK
            sent = _mqtt("mosquitto_pub", port, "-q", "1", "-t", "orders/new", "-m", f"order {n}")
            assert sent.returncode == 0, sent.stderr
    finally:
        process.kill()  # SIGKILL
        process.wait()
    process, port, seen = _start("--data", str(tmp_path))
    try:
        assert "1 durable subscriptions with 5 queued messages brought back" in seen
        got = _mqtt("mosquitto_sub", port, "-c", "-i", "keeper", "-q", "1", "-t", "orders/#", "-C", "5", "-W", "10")
        assert got.stdout.split("\n")[:5] == [f"order {n}" for n in range(5)], got.stderr
    finally:
        process.kill()
        process.wait()
