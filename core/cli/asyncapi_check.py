"""``eventdeck asyncapi check FILE``: import a document and summarise it as one JSON object.

The summary lists the other files of the document set, each remote document referenced (fetched
only with ``--fetch-remote-refs``), and the messages whose payloads are not validated: schemas in
another format (the format named) and schemas that need a remote document that is not available.

A document with ``x-eventdeck-*`` fields is a scenario: it is read as the window would run it
(names, ranges, the story) and checked against EventDeck's JSON Schema of those fields
(``resources/schemas/eventdeck-extensions.schema.json``); the summary gains a ``scenario`` part.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.asyncapi.loader import read_file
from eventdeck.core.asyncapi.model import Document
from eventdeck.core.asyncapi.normalise import normalise
from eventdeck.core.asyncapi.remote import RemoteRefs
from eventdeck.core.simulation.extension_schema import extension_fields
from eventdeck.core.simulation.workspace import Workspace, load_workspace


def check(path: str | os.PathLike[str], *, fetch_remote_refs: bool = False) -> dict[str, Any]:
    """A summary of the document at ``path``; raises :class:`AsyncApiError` if it cannot be imported."""
    name = os.fspath(path)
    source = read_file(Path(name), name)
    document = normalise(source, RemoteRefs(fetch=fetch_remote_refs))
    scenario = next(extension_fields(source.data), None) is not None
    summary: dict[str, Any] = {
        "file": document.source,
        "asyncapi": document.version,
        "title": document.title,
        "version": document.api_version,
        "channels": {
            "count": len(document.channels),
            "names": [c.key for c in document.channels],
            "addresses": [c.address for c in document.channels],
        },
        "messages": {"count": len(document.messages), "names": [m.name for m in document.messages]},
        "operations": {
            "count": len(document.operations),
            "names": [o.key for o in document.operations],
            "commands": [o.key for o in document.commands],
        },
        "servers": {"count": len(document.servers), "names": [s.name for s in document.servers]},
        "files": list(document.files),
        "remote_refs": [
            {"url": url, "status": "fetched" if status is None else status}
            for url, status in document.remote_refs.items()
        ],
        **unchecked_payloads(document),
    }
    if scenario:
        summary["scenario"] = scenario_summary(load_workspace(path))
    return summary


def unchecked_payloads(document: Document) -> dict[str, list[dict[str, Any]]]:
    """``not_validated``: payload schemas in another format, with the format; ``not_available``: those that
    need a remote document that was not fetched (or could not be), with why and the references."""
    return {
        "not_validated": [
            {"message": m.name, "format": m.schema_format}
            for m, status in document.unchecked
            if status.startswith("not validated")
        ],
        "not_available": [
            {"message": m.name, "status": status, "references": list(m.unavailable)}
            for m, status in document.unchecked
            if status.startswith("not available")
        ],
    }


def scenario_summary(workspace: Workspace) -> dict[str, Any]:
    """What the simulation runs: who publishes, consumes and answers, and the story's steps."""
    story = workspace.story
    return {
        "publishers": list(dict.fromkeys(op.publisher.name for op in workspace.publishers if op.publisher)),
        "subscribers": [op.subscriber.name for op in workspace.subscribers if op.subscriber],
        "responders": [op.responder.name for op in workspace.responders if op.responder],
        "story": None if story is None else {"title": story.title, "steps": [step.title for step in story.steps]},
    }


def asyncapi_check_main(path: str | os.PathLike[str], *, fetch_remote_refs: bool = False) -> int:
    """Print the summary of ``path`` as JSON on stdout and return 0, or the error on stderr and return 1."""
    try:
        summary = check(path, fetch_remote_refs=fetch_remote_refs)
    except AsyncApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0
