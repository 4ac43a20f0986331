"""Payload generators: each kind of x-eventdeck-generate field, applied over an example, repeatable with a seed."""

from __future__ import annotations

import random
import re

from eventdeck.core.simulation.generators import PayloadFactory
from eventdeck.core.simulation.workspace import load_demo, parse_workspace

GENERATORS = """\
asyncapi: 3.0.0
info: {title: generators, version: '1'}
channels:
  c:
    address: c
    messages:
      m:
        examples: [{payload: {kept: true, name: Example}}]
        x-eventdeck-generate:
          name: {choice: [Tim Berners-Lee]}
          slug: {template: "{name|slug}"}
          handle: {template: "{name|handle}"}
          first: {template: "{name|first} #{seq} {missing} {hex}"}
          level: {walk: [0, 10], start: 9, step: [-4, -4]}
          label: {label: level, bands: {3: low, 10: high}}
          n: {number: [1, 2], decimals: 1}
          pick: {sample: [a, b, c], count: [2, 2]}
          fixed: {const: {a: 1}}
          plain: 7
          asked: {request: q}
"""


def test_payload_factory_generators() -> None:
    workspace = parse_workspace(GENERATORS)
    message = workspace.channel("c").message("m")
    factory = PayloadFactory(message, workspace.generators(message), random.Random(0))
    first = factory.make({"q": [1, 2]})
    assert first["kept"] is True
    assert first["slug"] == "tim.berners.lee"
    assert first["handle"] == "tim_berners_lee"
    assert re.fullmatch(r"Tim #1 \{missing\} [0-9a-f]{6}", first["first"])
    assert [first["level"], first["label"]] == [9, "high"]
    assert 1 <= first["n"] <= 2
    assert len(set(first["pick"])) == 2
    assert first["fixed"] == {"a": 1}
    assert first["plain"] == 7
    assert first["asked"] == [1, 2]
    levels = [factory.make()["level"] for _ in range(3)]
    assert levels == [5, 1, 9]  # 9 -> 5 -> 1 -> out of range: back to the start
    second = factory.make()
    assert second["asked"] is None  # not a reply
    assert second["first"].startswith("Tim #5 ")
    first["fixed"]["a"] = 2
    assert factory.make()["fixed"] == {"a": 1}  # constants are copied, never shared


def test_payload_factory_is_repeatable_with_a_seed() -> None:
    demo = load_demo()
    message = demo.channel("userSignedUp").message("userSignedUp")
    one = PayloadFactory(message, demo.generators(message), random.Random(9))
    two = PayloadFactory(message, demo.generators(message), random.Random(9))
    assert [one.make() for _ in range(5)] == [two.make() for _ in range(5)]
