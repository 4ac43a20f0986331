"""Remote ``$ref``s (``https://...``): not fetched unless asked, since EventDeck works offline and never
calls out on its own. When asked (``--fetch-remote-refs``, or the window's setting), documents are
fetched over HTTPS, or plain HTTP when the reference says ``http://`` (schemas on an internal server
often are), with a timeout and within the document set's size cap.

A remote document that is not fetched, or cannot be, leaves the schemas that use it *not available*:
the document still loads, and :data:`NOT_FETCHED` or a reason in the same form says why.
"""

from __future__ import annotations

import time
import urllib.request
from http.client import HTTPException, HTTPMessage
from typing import IO
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from eventdeck.core.asyncapi.source import MAX_DOCUMENT_BYTES

NOT_FETCHED = "not available (remote reference, not fetched)"
FETCH_HINT = "remote references are fetched only when allowed: --fetch-remote-refs, or File > Fetch Remote References"
FETCH_TIMEOUT = 10.0
"""Seconds the remote documents of one document set may take together, from the first connection to the
last byte (a window that quits waits for a fetch under way)."""
REMOTE_SCHEMES = ("http", "https")
_CHUNK = 64 * 1024


def is_remote(reference: str) -> bool:
    """Is ``reference`` (a ``$ref``'s value, or its file part) an http(s) URL?"""
    return urlsplit(reference).scheme.lower() in REMOTE_SCHEMES


def not_available(why: str) -> str:
    """The status of a schema whose remote document could not be had, in the form of :data:`NOT_FETCHED`."""
    return f"not available (remote reference, {why})"


class FetchError(Exception):
    """A remote document could not be had; ``status`` says why, in the form of :data:`NOT_FETCHED`."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are followed to http(s) URLs only (urllib would follow one to ftp:// too)."""

    def redirect_request(  # noqa: PLR0917 - urllib's signature
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        if not is_remote(newurl):
            raise HTTPError(newurl, code, f"redirected to {newurl}, which is not an http(s) URL", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class RemoteRefs:
    """Whether the remote documents of one document set are fetched, and what became of each.

    ``outcomes`` maps each remote document's URL (without fragment) to None when it was fetched,
    else to why it is not available.
    """

    def __init__(self, *, fetch: bool = False, timeout: float = FETCH_TIMEOUT) -> None:
        self.fetch = fetch
        self.timeout = timeout
        self.outcomes: dict[str, str | None] = {}
        self._opener = urllib.request.build_opener(_HttpOnlyRedirects())
        self._deadline: float | None = None  # set by the first fetch

    def get(self, url: str, limit: int = MAX_DOCUMENT_BYTES) -> tuple[str, str]:
        """The text and the media type of the document at ``url``, at most ``limit`` bytes; :class:`FetchError`
        when not allowed to fetch or when fetching fails (each URL is tried once)."""
        known = self.outcomes.get(url)
        if known is not None:
            raise FetchError(known)
        try:
            if not self.fetch:
                raise FetchError(NOT_FETCHED)
            fetched = self._download(url, limit)
        except FetchError as exc:
            self.outcomes[url] = exc.status
            raise
        self.outcomes[url] = None
        return fetched

    def failed(self, url: str, status: str) -> FetchError:
        """Record that what was fetched from ``url`` cannot be used, and why."""
        self.outcomes[url] = status
        return FetchError(status)

    def _download(self, url: str, limit: int) -> tuple[str, str]:
        if self._deadline is None:
            self._deadline = time.monotonic() + self.timeout
        deadline = self._deadline
        if deadline - time.monotonic() <= 0:
            spent = f"the remote references before it took the {self.timeout:g} s allowed for all of them"
            raise FetchError(not_available(f"not fetched: {spent}"))
        request = urllib.request.Request(url, headers={"Accept": "application/json, application/yaml, */*"})
        try:
            with self._opener.open(request, timeout=deadline - time.monotonic()) as response:
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > limit:
                    raise FetchError(not_available(_too_large(int(declared), limit)))
                body = bytearray()
                while chunk := response.read1(_CHUNK):  # whatever came: a slow drip still meets the deadline
                    body += chunk
                    if len(body) > limit:
                        raise FetchError(not_available(_too_large(len(body), limit)))
                    if time.monotonic() > deadline:
                        raise TimeoutError
                charset = response.headers.get_content_charset() or "utf-8"
                media = response.headers.get_content_type()
        except HTTPError as exc:
            raise FetchError(not_available(f"could not be fetched: HTTP {exc.code} {exc.reason}")) from None
        except TimeoutError:
            raise FetchError(not_available(f"could not be fetched: {self._late}")) from None
        except URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                reason = self._late
            elif isinstance(reason, OSError):
                reason = reason.strerror or reason
            raise FetchError(not_available(f"could not be fetched: {reason}")) from None
        except (OSError, HTTPException, ValueError) as exc:
            raise FetchError(not_available(f"could not be fetched: {exc}")) from None
        try:
            return bytes(body).decode(charset), media
        except (UnicodeDecodeError, LookupError):
            raise FetchError(not_available(f"not {charset} text")) from None

    @property
    def _late(self) -> str:
        return f"no answer within {self.timeout:g} s"


def _too_large(size: int, limit: int) -> str:
    return (
        f"{size:,} bytes or more, over the {limit:,} bytes left of the document set's "
        f"{MAX_DOCUMENT_BYTES // 2**20} MiB cap"
    )
