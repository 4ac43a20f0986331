"""The wording helpers every panel shares."""

from __future__ import annotations

from eventdeck.gui.widgets.small import format_size, plural


def test_format_size_uses_binary_units_and_the_exact_count_when_not_round() -> None:
    assert format_size(512) == "512 B"
    assert format_size(1000) == "1,000 B"
    assert format_size(2048) == "2 KiB"
    assert format_size(1536) == "1.5 KiB (1,536 B)"
    assert format_size(16 * 1024 * 1024) == "16 MiB"
    assert format_size(3 * 1024**3 // 2) == "1.5 GiB (1,610,612,736 B)"


def test_format_size_can_leave_the_byte_count_out() -> None:
    assert format_size(1536, exact=False) == "1.5 KiB"
    assert format_size(1000, exact=False) == "1,000 B"
    assert format_size(5 * 1024**2 + 1, exact=False) == "5.0 MiB"


def test_plural() -> None:
    assert plural(1, "message") == "1 message"
    assert plural(1500, "message") == "1,500 messages"
