"""AsyncAPI in and out: import 2.x/3.x documents, validate payloads live, export what was observed.

::

    document = load_document("shop.yaml")              # AsyncApiError names file, line and JSON path
    document.files, document.remote_refs               # the files its $refs reach; https:// ones are
    # not fetched unless load_document(..., fetch_remote_refs=True): their schemas are "not available"
    check = validator_for(document.messages[0])        # compiled once per schema
    issues = check.validate(message.payload, message.content_type)
    template = example_payload(document.messages[0])   # the document's example, or one from the schema

    recorder = TrafficRecorder()                       # recorder.add(message) for each message seen
    text = to_yaml(recorder.document(broker.subscriptions(), redact_values=True))

The names below load when first used: importing ``eventdeck.core.asyncapi.errors`` (say) does not bring
in YAML, jsonschema and the whole loader, which the window needs only once it has painted.
"""

from typing import TYPE_CHECKING

from eventdeck.core.lazy import lazy_exports

if TYPE_CHECKING:
    from eventdeck.core.asyncapi.errors import AsyncApiError
    from eventdeck.core.asyncapi.examples import example_from_schema, example_payload
    from eventdeck.core.asyncapi.export import TrafficRecorder, export_document, to_yaml
    from eventdeck.core.asyncapi.model import Channel, Document, Example, MessageSpec, Operation, Reply, Server
    from eventdeck.core.asyncapi.normalise import load_document, parse_document
    from eventdeck.core.asyncapi.validate import PayloadValidator, ValidationIssue, validator_for

__all__ = [
    "AsyncApiError",
    "Channel",
    "Document",
    "Example",
    "MessageSpec",
    "Operation",
    "PayloadValidator",
    "Reply",
    "Server",
    "TrafficRecorder",
    "ValidationIssue",
    "example_from_schema",
    "example_payload",
    "export_document",
    "load_document",
    "parse_document",
    "to_yaml",
    "validator_for",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "eventdeck.core.asyncapi.errors": ("AsyncApiError",),
        "eventdeck.core.asyncapi.examples": ("example_from_schema", "example_payload"),
        "eventdeck.core.asyncapi.export": ("TrafficRecorder", "export_document", "to_yaml"),
        "eventdeck.core.asyncapi.model": (
            "Channel",
            "Document",
            "Example",
            "MessageSpec",
            "Operation",
            "Reply",
            "Server",
        ),
        "eventdeck.core.asyncapi.normalise": ("load_document", "parse_document"),
        "eventdeck.core.asyncapi.validate": ("PayloadValidator", "ValidationIssue", "validator_for"),
    },
)
