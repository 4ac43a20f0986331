"""The waiting-socket budget: the oldest makes room for the newest, nobody waits for ever."""

from __future__ import annotations

import asyncio
import logging
import resource

import pytest

from eventdeck.core.gateways.admission import ACCEPT_FAILED, Admission, quiet_accept_failures, raise_open_files_limit


async def test_the_oldest_waiting_socket_makes_room_for_the_newest() -> None:
    closed: list[str] = []
    admission: Admission[str] = Admission(budget=2, timeout=60, close=closed.append)
    for name in ("a", "b", "c"):
        admission.waiting(name)
    assert closed == ["a"]
    assert len(admission) == 2
    assert admission.evicted == 1


async def test_a_busy_socket_is_never_evicted_and_waits_again_at_the_back() -> None:
    closed: list[str] = []
    admission: Admission[str] = Admission(budget=2, timeout=60, close=closed.append)
    admission.waiting("client")
    admission.busy("client")  # its request came in
    admission.waiting("idle-1")
    admission.waiting("idle-2")
    admission.waiting("idle-3")
    assert closed == ["idle-1"]
    admission.waiting("client")  # its response went out: it waits for the next request, newest
    assert closed == ["idle-1", "idle-2"]


async def test_a_socket_that_waits_too_long_is_closed_once() -> None:
    closed: list[str] = []
    admission: Admission[str] = Admission(budget=10, timeout=0.05, close=closed.append)
    admission.waiting("slow")
    admission.waiting("gone")
    admission.left("gone")
    await asyncio.sleep(0.15)
    assert closed == ["slow"]
    assert admission.timed_out == 1
    assert len(admission) == 0


async def test_close_all_closes_every_waiting_socket() -> None:
    closed: list[str] = []
    admission: Admission[str] = Admission(budget=10, timeout=60, close=closed.append)
    admission.waiting("a")
    admission.waiting("b")
    admission.close_all()
    assert closed == ["a", "b"]


def test_a_budget_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Admission(budget=0, timeout=1, close=print)


async def test_failing_accepts_are_logged_once_a_minute_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.get_running_loop()
    others: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: others.append(context))
    log = logging.getLogger("test.accept")
    quiet_accept_failures(loop, log)
    quiet_accept_failures(loop, log)  # a second gateway: still one handler
    failure = OSError(24, "Too many open files")
    with caplog.at_level(logging.ERROR, logger="test.accept"):
        for _ in range(100):
            loop.call_exception_handler({"message": ACCEPT_FAILED, "exception": failure})
    assert len(caplog.records) == 1
    assert "Too many open files" in caplog.records[0].getMessage()
    assert caplog.records[0].exc_info is None
    loop.call_exception_handler({"message": "something else"})
    assert others == [{"message": "something else"}]
    loop.set_exception_handler(None)


def test_the_open_files_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
        assert raise_open_files_limit() == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] > 256 or hard <= 256
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
