"""AsyncAPI in and out: import 2.x/3.x documents, validate payloads live, export what was observed."""

from .errors import AsyncApiError
from .model import Channel, Document, Example, MessageSpec, Operation, Reply, Server
from .normalise import load_document, parse_document
from .validate import PayloadValidator, ValidationIssue, validator_for

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
    "ValidationIssue",
    "load_document",
    "parse_document",
    "validator_for",
]
