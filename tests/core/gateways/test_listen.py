"""HOST:PORT as people type it for --mqtt and --http."""

import pytest

from eventdeck.core.gateways.listen import ListenAddress, parse_listen_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", None),
        ("OFF", None),
        ("127.0.0.1:8081", ListenAddress("127.0.0.1", 8081)),
        (":9000", ListenAddress("127.0.0.1", 9000)),
        ("9000", ListenAddress("127.0.0.1", 9000)),
        ("0.0.0.0", ListenAddress("0.0.0.0", 8080)),
        ("[::1]:1884", ListenAddress("::1", 1884)),
        ("localhost:0", ListenAddress("localhost", 0)),
    ],
)
def test_listen_addresses_parse(text: str, expected: ListenAddress | None) -> None:
    assert parse_listen_address(text, 8080) == expected


@pytest.mark.parametrize(("text", "reason"), [("host:99999", "0 to 65535"), ("host:http", "must be a number")])
def test_bad_listen_addresses_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_listen_address(text, 8080)


def test_ipv6_listen_addresses_print_with_brackets() -> None:
    assert str(ListenAddress("::1", 80)) == "[::1]:80"
    assert str(ListenAddress("127.0.0.1", 80)) == "127.0.0.1:80"
