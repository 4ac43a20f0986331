"""The still picture is painted again only where it changed, within a time budget for counts."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from eventdeck.core import Kind, Message, SubscriptionInfo
from eventdeck.gui.models.message_path import MessagePath
from eventdeck.gui.models.topology import Edge, Graph, build_graph
from eventdeck.gui.presenter.canvas import StillLayer
from eventdeck.gui.presenter.layout import CHANNEL_LINES, Placement, body_unit, capacity, place
from tests.benchmarks.presenter import scale_counts, scale_snapshot

WIDTH, HEIGHT = 1920, 1030


def picture(channels: int = 8) -> tuple[Placement, Graph, dict[str, SubscriptionInfo]]:
    snapshot = scale_snapshot(channels, channels)
    unit = body_unit(WIDTH, HEIGHT)
    graph = build_graph(scale_counts(channels), {}, snapshot, capacity(HEIGHT, unit, CHANNEL_LINES))
    return place(graph, WIDTH, HEIGHT, unit), graph, {info.name: info for info in snapshot.subscriptions}


def layer(budget: float = 1.0) -> StillLayer:
    return StillLayer(QApplication.palette(), dark=False, budget=budget)


def acked_more(subscriptions: dict[str, SubscriptionInfo], *names: str) -> dict[str, SubscriptionInfo]:
    return {
        name: info._replace(acked=info.acked + 1) if name in names else info for name, info in subscriptions.items()
    }


def test_an_unchanged_picture_draws_nothing_and_a_changed_count_only_its_own_tile(qtbot: QtBot) -> None:
    placement, graph, subscriptions = picture()
    still = layer()
    first = still.paint(placement, graph, subscriptions, 1.0)
    assert still.drawn == 1 + len(placement.boxes)  # the background and every tile

    again = still.paint(placement, graph, subscriptions, 1.0)
    assert still.drawn == 0
    assert again.background is first.background
    assert [tile for _at, tile in again.tiles] == [tile for _at, tile in first.tiles]

    changed = still.paint(placement, graph, acked_more(subscriptions, "consumer-3"), 1.0)
    assert still.drawn == 1
    assert changed.background is first.background
    redrawn = [
        i for i, ((_a, old), (_b, new)) in enumerate(zip(first.tiles, changed.tiles, strict=True)) if old is not new
    ]
    assert [list(placement.boxes)[i] for i in redrawn] == ["s:consumer-3"]


def test_counts_past_the_budget_wait_for_the_next_paint_the_longest_waiting_first(qtbot: QtBot) -> None:
    placement, graph, subscriptions = picture()
    still = layer(budget=0.0)  # room for one tile per paint: the first is drawn before the clock is read
    still.paint(placement, graph, subscriptions, 1.0)
    names = [key[2:] for key in placement.boxes if key.startswith("s:")][:3]
    busier = acked_more(subscriptions, *names)

    still.paint(placement, graph, busier, 1.0)
    assert (still.drawn, still.pending) == (1, 2)
    still.paint(placement, graph, busier, 1.0)
    assert (still.drawn, still.pending) == (1, 1)
    still.paint(placement, graph, busier, 1.0)
    assert (still.drawn, still.pending) == (1, 0)
    still.paint(placement, graph, busier, 1.0)
    assert (still.drawn, still.pending) == (0, 0)


def test_a_followed_path_redraws_every_tile_at_once_whatever_the_budget(qtbot: QtBot) -> None:
    placement, graph, subscriptions = picture()
    still = layer(budget=0.0)
    before = still.paint(placement, graph, subscriptions, 1.0)
    publisher, channel = graph.edges[0].source, graph.edges[0].target
    message = Message(1, channel[2:], Kind.EVENT, b"{}")
    path = MessagePath(message, frozenset({publisher, channel}), {(publisher, channel): "#000000"})

    while (shown := still.paint(placement, graph, subscriptions, 1.0, path=path)) is before:
        assert (still.drawn, still.pending) == (0, 1)  # its background is being drawn: the picture stays as it was
    assert (still.drawn, still.pending) == (1 + len(placement.boxes), 0)  # half faded, half not, never mixed
    assert shown.background is not before.background


def test_a_new_background_is_drawn_a_few_pieces_a_paint_but_a_new_size_at_once(qtbot: QtBot) -> None:
    placement, graph, subscriptions = picture()
    still = layer(budget=0.0)  # one piece (the broker's box, an edge, the titles) a paint
    first = still.paint(placement, graph, subscriptions, 1.0)
    fewer = dataclasses.replace(graph, edges=graph.edges[1:])
    paints = 1
    while still.paint(placement, fewer, subscriptions, 1.0) is first:
        paints += 1
    assert paints == 1 + len(fewer.edges) + 1  # the broker's box, each edge, then the titles with the tiles
    assert not still.pending

    wider = dataclasses.replace(placement, width=placement.width + 100)
    resized = still.paint(wider, graph, subscriptions, 1.0)  # nothing of this size to show meanwhile
    assert resized.background.width() == placement.width + 100
    assert not still.pending


def test_an_edge_s_width_follows_its_rate_only_once_the_rate_moved_well_away(qtbot: QtBot) -> None:
    still = layer()
    edge = Edge("p:a", "c:b", None, 10.0)
    drawn = still.edge_width(edge)
    assert still.edge_width(dataclasses.replace(edge, rate=14.0)) == drawn  # a wobble: the background stays
    assert still.edge_width(dataclasses.replace(edge, rate=1_000.0)) > drawn + 1


def test_a_busier_edge_alone_does_not_repaint_the_background_but_a_new_edge_does(qtbot: QtBot) -> None:
    placement, graph, subscriptions = picture()
    still = layer()
    first = still.paint(placement, graph, subscriptions, 1.0)
    wobbled = dataclasses.replace(graph, edges=(dataclasses.replace(graph.edges[0], rate=1.3), *graph.edges[1:]))
    assert still.paint(placement, wobbled, subscriptions, 1.0).background is first.background
    fewer = dataclasses.replace(graph, edges=graph.edges[1:])
    assert still.paint(placement, fewer, subscriptions, 1.0).background is not first.background


def test_boxes_that_only_moved_keep_their_tiles(qtbot: QtBot) -> None:
    placement, graph, subscriptions = picture()
    still = layer()
    first = still.paint(placement, graph, subscriptions, 1.0)
    moved = dataclasses.replace(
        placement, boxes={key: dataclasses.replace(box, y=box.y + 7) for key, box in placement.boxes.items()}
    )
    again = still.paint(moved, graph, subscriptions, 1.0)
    assert still.drawn == 1  # the background only: its edges end elsewhere
    assert [tile for _at, tile in again.tiles] == [tile for _at, tile in first.tiles]
    assert [at.y() for at, _tile in again.tiles] == [at.y() + 7 for at, _tile in first.tiles]
