"""HOST:PORT as people type it for --mqtt and --http."""

import pytest

from eventdeck.core.gateways.listen import Endpoint, parse_endpoint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", None),
        ("OFF", None),
        ("127.0.0.1:8081", Endpoint("127.0.0.1", 8081)),
        (":9000", Endpoint("127.0.0.1", 9000)),
        ("9000", Endpoint("127.0.0.1", 9000)),
        ("0.0.0.0", Endpoint("0.0.0.0", 8080)),
        ("[::1]:1884", Endpoint("::1", 1884)),
        ("localhost:0", Endpoint("localhost", 0)),
    ],
)
def test_endpoints_parse(text: str, expected: Endpoint | None) -> None:
    assert parse_endpoint(text, 8080) == expected


@pytest.mark.parametrize(("text", "reason"), [("host:99999", "0 to 65535"), ("host:http", "must be a number")])
def test_bad_endpoints_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_endpoint(text, 8080)


def test_ipv6_endpoints_print_with_brackets() -> None:
    assert str(Endpoint("::1", 80)) == "[::1]:80"
    assert str(Endpoint("127.0.0.1", 80)) == "127.0.0.1:80"
