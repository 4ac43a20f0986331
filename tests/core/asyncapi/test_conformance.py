"""Our own AsyncAPI 3.0.0 schema (tests/fixtures/asyncapi/) bites: it refuses what the specification refuses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from eventdeck.core import Kind, Message
from eventdeck.core.asyncapi.export import export_document
from tests.core.asyncapi.conformance import subset_errors
from tests.core.asyncapi.corpus import corpus_file, official_errors

Document = dict[str, Any]


def _exported() -> Document:
    return export_document(
        [
            Message.build("fridge/level", {"percent": 40}, publisher="fridge"),
            Message.build("jobs/run", {"n": 1}, kind=Kind.COMMAND, publisher="p", correlation_id="c", reply_to="$r"),
            Message.build("$r", {"ok": True}, kind=Kind.REPLY, correlation_id="c"),
        ]
    )


def _operation(document: Document, key: str) -> Document:
    operation: Document = document["operations"][key]
    return operation


def _message(document: Document) -> Document:
    message: Document = document["channels"]["fridge_level"]["messages"]["fridge_level"]
    return message


# Each breaks the exported document the way a faulty exporter could.
BREAKAGES: dict[str, Callable[[Document], None]] = {
    "a version that is not 3.0.0": lambda d: d.update(asyncapi="3.0"),
    "info without a version": lambda d: d["info"].pop("version"),
    "a misspelt channel field": lambda d: d["channels"]["fridge_level"].update(adress="fridge/level"),
    "an action that is not send or receive": lambda d: _operation(d, "fridge_send_fridge_level").update(
        action="publish"
    ),
    "an operation whose channel is not a $ref": lambda d: _operation(d, "fridge_send_fridge_level").update(
        channel={"address": "fridge/level"}
    ),
    "a reply address that is no runtime expression": lambda d: _operation(d, "p_send_jobs_run")["reply"].update(
        address={"location": "header.replyTo"}
    ),
    "an example with neither payload nor headers": lambda d: _message(d).update(examples=[{"name": "empty"}]),
    "a payload that is no schema": lambda d: _message(d).update(payload={"type": 5}),
}


def test_the_exported_document_is_valid() -> None:
    assert subset_errors(_exported()) == []


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_each_breakage_is_refused(breakage: str) -> None:
    document = copy.deepcopy(_exported())
    BREAKAGES[breakage](document)
    assert subset_errors(document) != []


def test_corpus_extra_the_official_schema_refuses_the_same_breakages() -> None:
    corpus_file("schemas/asyncapi-3.0.0.json")
    assert official_errors(_exported(), "3.0.0") == []
    for breakage, apply in BREAKAGES.items():
        document = copy.deepcopy(_exported())
        apply(document)
        assert official_errors(document, "3.0.0") != [], breakage
