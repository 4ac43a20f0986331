"""Documents made to hurt: alias and $ref bombs, huge files. Refused fast, with a reason."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from eventdeck.core.asyncapi import AsyncApiError, load_document, parse_document
from eventdeck.core.asyncapi.loader import MAX_DOCUMENT_BYTES

ALIAS_BOMB = """\
asyncapi: 3.0.0
info: {title: bomb, version: "1"}
x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
x-g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
x-h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
x-i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_a_yaml_alias_bomb_is_refused_in_well_under_a_second() -> None:
    assert len(ALIAS_BOMB) < 600  # the hostile tester's bomb was 536 bytes
    started = time.perf_counter()
    with pytest.raises(AsyncApiError, match="expands to more than 2,000,000 values"):
        parse_document(ALIAS_BOMB, "bomb.yaml")
    assert time.perf_counter() - started < 1.0


def test_a_ref_bomb_is_refused_too() -> None:
    levels = ["  s0: {type: string}"]
    for n in range(1, 25):
        ref = f"'#/components/schemas/s{n - 1}'"
        levels.append(f"  s{n}: {{type: object, properties: {{a: {{$ref: {ref}}}, b: {{$ref: {ref}}}}}}}")
    text = "asyncapi: 3.0.0\ninfo: {title: refs, version: '1'}\ncomponents:\n schemas:\n" + "\n".join(
        " " + line for line in levels
    )
    started = time.perf_counter()
    with pytest.raises(AsyncApiError, match="expands to more than"):
        parse_document(text, "refs.yaml")
    assert time.perf_counter() - started < 1.0


def test_shared_parts_in_an_ordinary_document_still_work() -> None:
    document = parse_document(
        """\
asyncapi: 3.0.0
info: {title: shared, version: "1"}
channels:
  a: {address: a, messages: {m: &m {payload: {type: object, properties: {n: {type: integer}}}}}}
  b: {address: b, messages: {m: *m}}
""",
        "shared.yaml",
    )
    assert [channel.address for channel in document.channels] == ["a", "b"]


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as out:
        out.write("asyncapi: 3.0.0\nx-padding: '")
        out.write("x" * (MAX_DOCUMENT_BYTES + 1))
        out.write("'\n")
    started = time.perf_counter()
    with pytest.raises(AsyncApiError, match="larger than 8 MiB"):
        load_document(path)
    assert time.perf_counter() - started < 1.0
