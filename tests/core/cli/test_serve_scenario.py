"""``eventdeck serve --scenario household``, for real: an MQTT client sees the simulation within a second."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

SERVE = [sys.executable, "-m", "eventdeck.gui.app", "serve"]
FIRST_MESSAGE_WITHIN = 1.0
"""Seconds from the MQTT gateway listening to a subscriber's first simulated message (the issue's promise)."""


@pytest.fixture
def serving() -> Iterator[tuple[subprocess.Popen[str], int, float, str]]:
    """serve --scenario household on a free port: the process, the port, when it listened, its output so far."""
    process = subprocess.Popen(
        [*SERVE, "--scenario", "household", "--mqtt", "127.0.0.1:0", "--http", "off"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen += line
        listening = re.search(r"MQTT gateway listening on 127\.0\.0\.1:(\d+)", line)
        if listening or not line:
            break
    assert listening, seen
    yield process, int(listening.group(1)), time.monotonic(), seen
    if process.poll() is None:
        process.kill()
        process.wait()


def test_serve_runs_the_scenario_and_a_subscriber_hears_it_within_a_second(
    serving: tuple[subprocess.Popen[str], int, float, str],
) -> None:
    if shutil.which("mosquitto_sub") is None:
        pytest.skip("mosquitto_sub is not installed (Debian package mosquitto-clients)")
    process, port, listened, _ = serving
    heard = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", "#", "-C", "1", "-v", "-W", "5"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    elapsed = time.monotonic() - listened
    assert heard.returncode == 0, heard.stderr
    channel, _, payload = heard.stdout.strip().partition(" ")
    assert channel in {"user/signedup", "user/followed", "fridge/level", "groceries/order"}
    assert payload.startswith("{")
    print(f"first simulated message over MQTT {elapsed * 1000:.0f} ms after the gateway listened")
    assert elapsed < FIRST_MESSAGE_WITHIN
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert "stopped cleanly" in output


def test_serve_says_which_scenario_runs(serving: tuple[subprocess.Popen[str], int, float, str]) -> None:
    process, _, _, seen = serving
    assert process.stdout is not None
    seen += process.stdout.readline()
    assert (
        "running the scenario 'EventDeck demo household' from eventdeck.resources/scenarios/household.yaml: "
        "4 simulated publishers, 4 subscribers, 1 responder\n" in seen
    )
