"""A broker restart in words: the stream's two lines and tooltip, the broker's mark."""

from __future__ import annotations

from eventdeck.core.simulation.faults import BrokerRestart
from eventdeck.gui.models.broker_restart import (
    RESTART_CHANNEL,
    mark_words,
    notice_detail,
    notice_text,
    restart_detail,
    restart_notice,
)

ON_STORE = BrokerRestart(
    on_store=True, kept={"audit": 3, "billing": 12}, lost={"feed": 31}, retained=1, requests=0, delayed=0
)
IN_MEMORY = BrokerRestart(on_store=False, kept={}, lost={"feed": 31, "audit": 3}, retained=2, requests=1, delayed=4)


def test_on_a_store_it_names_the_queues_that_came_back_and_those_lost() -> None:
    assert notice_text(ON_STORE) == (
        "⟳ restarted on its store — back: billing (12 queued), audit (3 queued), 1 retained message\n"
        "lost (not durable): feed (31 queued)"
    )
    assert notice_detail(ON_STORE) == (
        "Broker restarted on its durable store.\n"
        "Back from the store:\n  billing (12 queued)\n  audit (3 queued)\n  1 retained message\n"
        "Lost with its memory:\n  feed (31 queued)"
    )
    assert mark_words(ON_STORE) == "restarted: kept 2 queues on disk"


def test_in_memory_nothing_survived_and_everything_lost_is_counted() -> None:
    assert notice_text(IN_MEMORY) == (
        "⟳ restarted in memory — nothing survived\n"
        "lost: feed (31 queued), audit (3 queued), 1 pending command, 4 delayed messages, 2 retained messages"
    )
    assert "Back from the store" not in notice_detail(IN_MEMORY)
    assert mark_words(IN_MEMORY) == mark_words(None) == "restarted: nothing survived"


def test_empty_restarts_say_so() -> None:
    bare = BrokerRestart(on_store=True, kept={}, lost={}, retained=0, requests=0, delayed=0)
    assert notice_text(bare) == "⟳ restarted on its store — back: no durable queue\nnothing else was queued"
    assert notice_detail(bare).endswith("Nothing was lost.")
    assert mark_words(bare) == "restarted: no durable queue"
    in_memory = BrokerRestart(on_store=False, kept={}, lost={}, retained=0, requests=0, delayed=0)
    assert notice_text(in_memory) == "⟳ restarted in memory — nothing survived\nnothing was queued"


def test_the_row_names_four_queues_and_counts_the_rest_the_tooltip_names_all() -> None:
    many = BrokerRestart(
        on_store=True, kept={f"q{n}": n for n in range(1, 8)}, lost={}, retained=0, requests=0, delayed=0
    )
    back = notice_text(many).split("\n")[0]
    assert back == (
        "⟳ restarted on its store — back: q7 (7 queued), q6 (6 queued), q5 (5 queued), q4 (4 queued), 3 more (6 queued)"
    )
    assert all(f"  q{n} ({n} queued)" in notice_detail(many) for n in range(1, 8))
    notice = restart_notice(many)
    assert notice.channel == RESTART_CHANNEL
    assert notice.text() == notice_text(many)
    assert restart_detail(notice) == notice_detail(many)
