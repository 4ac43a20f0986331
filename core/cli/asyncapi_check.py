"""``eventdeck asyncapi check FILE``: import a document and summarise it as one JSON object."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.asyncapi.normalise import load_document


def check(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A summary of the document at ``path``; raises :class:`AsyncApiError` if it cannot be imported."""
    document = load_document(path)
    not_validated = [m.name for m in document.messages if m.payload is not None and not m.validatable]
    return {
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
        "not_validated": not_validated,
    }


def asyncapi_check_main(path: str | os.PathLike[str]) -> int:
    """Print the summary of ``path`` as JSON on stdout and return 0, or the error on stderr and return 1."""
    try:
        summary = check(path)
    except AsyncApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0
