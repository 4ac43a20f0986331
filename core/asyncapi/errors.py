"""The one error an AsyncAPI document can raise: it names the file, the line, the JSON path and the problem."""

from __future__ import annotations

from eventdeck.core.broker.errors import EventDeckError


class AsyncApiError(EventDeckError, ValueError):
    """A document could not be imported (or checked); nothing of it was kept.

    ``path`` is a JSON Pointer into ``file`` (``#/channels/user~1signedup``), empty when the
    problem is the file as a whole; ``line`` is 1-based, None when unknown.
    """

    def __init__(self, file: str, problem: str, *, line: int | None = None, path: str = "") -> None:
        where = file if line is None else f"{file}, line {line}"
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}")
        self.file = file
        self.line = line
        self.path = path
        self.problem = problem
