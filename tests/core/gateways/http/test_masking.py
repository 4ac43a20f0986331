"""Following WebSocket frame headers to spot an unmasked client frame (RFC 6455 5.1)."""

from __future__ import annotations

import os
import struct

import pytest

from eventdeck.core.gateways.http.masking import MaskCheck


def frame(payload: bytes, *, masked: bool = True) -> bytes:
    size = len(payload)
    if size < 126:
        header = bytes([0x81, size | (0x80 if masked else 0)])
    elif size < 65536:
        header = bytes([0x81, 126 | (0x80 if masked else 0)]) + struct.pack(">H", size)
    else:
        header = bytes([0x81, 127 | (0x80 if masked else 0)]) + struct.pack(">Q", size)
    if not masked:
        return header + payload
    key = os.urandom(4)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


STREAM = frame(b"a" * 5) + frame(b"b" * 300) + frame(b"c" * 70_000) + frame(b"")


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 13, 64, 1000, len(STREAM)])
def test_masked_frames_pass_in_any_chunking(chunk: int) -> None:
    check = MaskCheck()
    assert all(check.feed(STREAM[i : i + chunk]) for i in range(0, len(STREAM), chunk))


@pytest.mark.parametrize("chunk", [1, 5, 1000])
def test_an_unmasked_frame_is_spotted_wherever_it_starts(chunk: int) -> None:
    data = STREAM + frame(b"forged", masked=False)
    check = MaskCheck()
    results = [check.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    assert results[-1] is False
    assert all(results[: len(STREAM) // chunk])
