"""``eventdeck scenarios`` and ``eventdeck serve --scenario``: the list, the start-up checks, the simulation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from eventdeck.core import Broker
from eventdeck.core.broker.subscription import State
from eventdeck.core.cli.scenarios import HOW_TO_RUN, scenarios_table
from eventdeck.core.cli.serve import running
from eventdeck.core.simulation.catalogue import BUILT_IN, load_scenario
from eventdeck.gui.app import main
from tests.core.simulation.waiting import wait_for


def test_scenarios_lists_every_built_in_in_aligned_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    assert out == scenarios_table() + "\n"
    header, *rows, blank, how = out.splitlines()
    assert header.split() == ["NAME", "TITLE", "WHAT", "IT", "SHOWS"]
    assert [row.split()[0] for row in rows] == [info.name for info in BUILT_IN]
    title_column = header.index("TITLE")
    summary_column = header.index("WHAT IT SHOWS")
    for row, info in zip(rows, BUILT_IN, strict=True):
        assert row[title_column:].startswith(info.title)
        assert row[summary_column:] == info.summary
    assert blank == ""
    assert how == HOW_TO_RUN
    assert "eventdeck --scenario NAME" in how
    assert "eventdeck serve --scenario NAME" in how


def test_serve_refuses_a_bad_scenario_before_anything_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["serve", "--scenario", "housebold", "--mqtt", "127.0.0.1:0", "--http", "off"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("eventdeck serve: housebold: no such file, and no built-in scenario of that name")
    assert "household" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("asyncapi: 3.0.0\ninfo: {title: x, version: '1'}\nx-eventdeck-story: {title: T}\n", encoding="utf-8")
    assert main(["serve", "--scenario", str(bad), "--mqtt", "127.0.0.1:0", "--http", "off"]) == 2
    err = capsys.readouterr().err
    reason = "missing required field 'steps' (the story's steps, in order)"
    assert err == f"eventdeck serve: {bad}, line 3: #/x-eventdeck-story: {reason}\n"
    assert "listening" not in err
    assert time.monotonic() - started < 5


async def test_the_scenario_runs_while_serving_and_stops_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    workspace = load_scenario("household")
    caplog.set_level("INFO", logger="eventdeck.serve")
    async with Broker() as broker:
        async with running(broker, workspace):
            assert (
                "running the scenario 'EventDeck demo household' from eventdeck.resources/scenarios/household.yaml"
                in caplog.text
            )
            names = {info.name for info in broker.subscriptions()}
            assert {"welcome-mailer", "analytics", "grocery-service"} <= names
            published = broker.stats().published
            await wait_for(lambda: broker.stats().published > published, limit=3)  # the first tick is within 0.5 s
        # stopped: only the durable subscriber stays, away, keeping its queue
        assert [(info.name, info.state) for info in broker.subscriptions()] == [("shopping-list", State.AWAY)]
        async with running(broker, None):  # no scenario: nothing runs
            assert len(broker.subscriptions()) == 1
