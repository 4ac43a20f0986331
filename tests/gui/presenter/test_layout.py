"""The presenter's layout and dots without a window: sizes, fitting, no overlaps, sampling, dead letters."""

from __future__ import annotations

import itertools
import time

from eventdeck.core import Message
from eventdeck.gui.models.topology import CHANNELS, SUBSCRIBERS, build_graph
from eventdeck.gui.presenter.flow import Flow
from eventdeck.gui.presenter.layout import (
    SUBSCRIPTION_LINES,
    Placement,
    Zoom,
    body_unit,
    capacity,
    fit_scale,
    place,
)
from tests.benchmarks.presenter import scale_counts, scale_snapshot


def placed(channels: int, subscriptions: int, width: float = 1920, height: float = 1030) -> Placement:
    unit = body_unit(width, height)
    graph = build_graph(
        scale_counts(channels), {}, scale_snapshot(channels, subscriptions), capacity(height, unit, 2.4)
    )
    return place(graph, width, height, unit)


def test_body_text_is_18_px_or_more_on_a_1080p_canvas_and_follows_zoom_and_font_scale() -> None:
    assert body_unit(1920, 1030) >= 18
    assert body_unit(1920, 1030, zoom=1.5) > body_unit(1920, 1030)
    assert body_unit(1920, 1030, font_scale=0.8) < body_unit(1920, 1030)
    assert body_unit(640, 360) < 18  # a small window gets smaller text: it scales with the window


def test_fit_scale_enlarges_and_shrinks_within_bounds_times_the_zoom() -> None:
    assert fit_scale((500, 250), (1000, 1000)) == 2.0
    assert fit_scale((4000, 1000), (1000, 1000)) == 0.5
    assert fit_scale((1000, 500), (800, 800), zoom=1.5) == 0.8 * 1.5
    zoom = Zoom()
    assert zoom.step(1)
    assert zoom.factor > 1
    assert zoom.step(0)
    assert zoom.factor == 1
    for _ in range(50):
        zoom.step(-1)
    assert zoom.factor == zoom.steps[0]


def test_a_thousand_channels_and_subscriptions_fit_without_overlaps_and_say_how_many_are_left_out() -> None:
    started = time.perf_counter()
    placement = placed(1_000, 1_000)
    assert time.perf_counter() - started < 0.5  # the benchmark holds it to 50 ms on a quiet machine
    assert placement.more[CHANNELS] > 900
    assert placement.more[SUBSCRIBERS] > 900
    for column in (0, 1, 2):
        boxes = sorted(
            (box for key, box in placement.boxes.items() if placement.nodes[key].column == column), key=lambda b: b.y
        )
        assert all(a.y + a.height <= b.y for a, b in itertools.pairwise(boxes))  # no box over another
        assert all(box.y >= 0 and box.y + box.height <= placement.height for box in boxes)
    shown_subscriptions = sum(1 for node in placement.nodes.values() if node.column == SUBSCRIBERS)
    assert shown_subscriptions == capacity(1030, placement.unit, SUBSCRIPTION_LINES) - 1


def message(channel: str, publisher: str = "publisher-0", **headers: str) -> Message:
    return Message.build(channel, b"{}", publisher=publisher, headers=headers)


def test_dots_are_capped_per_edge_and_dead_letters_travel_from_the_subscription_that_gave_up() -> None:
    placement = placed(3, 3)
    flow = Flow(per_edge=2)
    flow.set_placement(placement, {"s:consumer-0": "site/0/#"})
    flow.add([message("site/0/sensor/reading") for _ in range(100)], lambda _m: None)
    assert len(flow.dots) == 1  # a flood on one edge is one dot until half a second has passed
    flow.advance(0.6)
    flow.add([message("site/0/sensor/reading")], lambda _m: None)
    assert len(flow.dots) == 2
    dead = placed(3, 3)
    dead.boxes["c:$dead/site/0/sensor/reading"] = dead.boxes["c:site/1/sensor/reading"]
    flow.set_placement(dead, {})
    assert len(flow.dots) == 2  # a new box elsewhere: dots whose boxes stayed put fly on
    flow.set_placement(placed(3, 3, height=700), {})
    assert not flow.dots  # their boxes moved: their paths no longer fit
    flow.set_placement(dead, {})
    flow.add([message("$dead/site/0/sensor/reading", **{"x-dead-subscription": "consumer-0"})], lambda _m: None)
    (dot,) = flow.dots
    assert dot.kind == "dead letter"
    assert dot.target == "c:$dead/site/0/sensor/reading"
    assert dot.path.at(0) == (dead.boxes["s:consumer-0"].x, dead.boxes["s:consumer-0"].middle)
    flow.speed = 0
    flow.advance(10)
    assert flow.dots == [dot]  # paused: nothing moves, nothing arrives
