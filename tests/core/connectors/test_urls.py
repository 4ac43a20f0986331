"""Broker URLs: what each scheme means, and clear errors for what cannot work."""

from __future__ import annotations

import pytest

from eventdeck.core.connectors import ConnectorError, Endpoint, backend_from_url, parse_url
from eventdeck.core.connectors.base import escape_channel, sniff_content_type


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://127.0.0.1:1883", ("mqtt", "127.0.0.1", 1883, "", False)),
        ("mqtt://broker.local", ("mqtt", "broker.local", 1883, "", False)),
        ("mqtts://broker.local", ("mqtt", "broker.local", 8883, "", True)),
        ("amqp://guest:guest@127.0.0.1/", ("amqp", "127.0.0.1", 5672, "/", False)),
        ("amqp://127.0.0.1/%2f", ("amqp", "127.0.0.1", 5672, "/", False)),
        ("amqps://rabbit:5671/orders", ("amqp", "rabbit", 5671, "orders", True)),
        ("nats://127.0.0.1:4222", ("nats", "127.0.0.1", 4222, "", False)),
        ("redis://127.0.0.1:6379/0", ("redis", "127.0.0.1", 6379, "0", False)),
        ("redis://127.0.0.1", ("redis", "127.0.0.1", 6379, "0", False)),
        ("rediss://cache:6380/3", ("redis", "cache", 6380, "3", True)),
        ("MQTT://[::1]:1884", ("mqtt", "::1", 1884, "", False)),
        ("kafka://127.0.0.1", ("kafka", "127.0.0.1", 9092, "", False)),
        ("kafkas://broker.local", ("kafka", "broker.local", 9093, "", True)),
    ],
)
def test_schemes(url: str, expected: tuple[str, str, int, str, bool]) -> None:
    endpoint = parse_url(url)
    assert (endpoint.kind, endpoint.host, endpoint.port, endpoint.path, endpoint.tls.enabled) == expected


def test_credentials_are_decoded_and_never_displayed() -> None:
    endpoint = parse_url("amqp://us%40er:p%3Ass@127.0.0.1:5672/")
    assert endpoint.username == "us@er"
    assert endpoint.password == "p:ss"
    assert endpoint.display == "amqp://us@er@127.0.0.1:5672"
    assert "p:ss" not in repr(endpoint)
    assert parse_url("redis://[::1]:6379/2").display == "redis://[::1]:6379/2"


def test_a_kafka_url_lists_several_bootstrap_servers() -> None:
    endpoint = parse_url("kafkas://ada:pw@k1:9093,k2,[::1]:9000?ca=/etc/ca.pem")
    assert endpoint.servers == (("k1", 9093), ("k2", 9093), ("::1", 9000))
    assert endpoint.address == "k1:9093"
    assert endpoint.display == "kafkas://ada@k1:9093,k2:9093,[::1]:9000"
    assert endpoint.tls.ca_file == "/etc/ca.pem"
    backend = backend_from_url("kafka://ada:pw@k1,k2")
    assert backend.sasl == "PLAIN"  # type: ignore[attr-defined]
    assert backend_from_url("kafka://ada:pw@k1?sasl=scram-sha-512").sasl == "SCRAM-SHA-512"  # type: ignore[attr-defined]
    assert backend_from_url("kafka://k1").sasl == ""  # type: ignore[attr-defined]


def test_tls_options_from_the_query() -> None:
    endpoint = parse_url("mqtt://h:8883?ca=/etc/ca.pem&verify=no")
    assert endpoint.tls.enabled
    assert endpoint.tls.ca_file == "/etc/ca.pem"
    assert endpoint.tls.verify is False
    assert dict(endpoint.options) == {}


def test_connector_options_from_the_query_and_keywords() -> None:
    backend = backend_from_url("mqtt://127.0.0.1?sys=yes&protocol=3")
    assert backend.sys is True  # type: ignore[attr-defined]
    assert backend.capabilities.headers is False
    assert backend.capabilities.request_reply is False
    assert backend_from_url("mqtt://127.0.0.1?sys=yes", sys=False).sys is False  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "no broker URL"),
        ("127.0.0.1:1883", "has no scheme; start it with one of mqtt://"),
        ("pulsar://127.0.0.1:6650", "unknown scheme 'pulsar://'"),
        ("mqtt://a:1883,b:1883", "mqtt:// URLs name one server, got 'a:1883,b:1883'"),
        ("kafka://a:9092,b:nine", "bad server 'b:nine'; expected HOST or HOST:PORT"),
        ("kafka://a:9092,", "bad server ''; expected HOST or HOST:PORT"),
        ("kafka://a/topics", "kafka:// URLs take no path"),
        ("kafka://a?sasl=kerberos", "option 'sasl': expected one of plain, scram-sha-256, scram-sha-512, none"),
        ("kafka://a?colour=red", "unknown option 'colour' for kafka:// URLs; known: reply_topic, sasl"),
        ("kafka://a?reply_topic=no%20spaces", "Kafka topics are 1-249 letters"),
        ("mqtt://", "names no host"),
        ("mqtt://127.0.0.1:99999", "bad broker URL"),
        ("mqtt://127.0.0.1:port", "bad broker URL"),
        ("redis://127.0.0.1/cache", "must be a number"),
        ("nats://127.0.0.1/x", "take no path"),
        ("mqtt://127.0.0.1?verify=maybe", "option 'verify'"),
        ("mqtt://127.0.0.1?colour=red", "unknown option 'colour' for mqtt:// URLs; known: protocol, qos, sys"),
        ("mqtt://127.0.0.1?qos=high", "option 'qos'"),
        ("mqtt://127.0.0.1?protocol=4.5", "option 'protocol'"),
        ("amqp://h/?management=ftp://h:21", "option 'management': expected an http:// or https:// URL"),
        ("amqp://h/?management=rabbit:15672", "option 'management': expected an http:// or https:// URL"),
        ("amqp://h/?management_insecure=maybe", "option 'management_insecure': expected yes/no"),
        ("nats://h/?monitor=ws://h:8222", "option 'monitor': expected an http:// or https:// URL"),
        ("nats://h/?monitor_insecure=perhaps", "option 'monitor_insecure': expected yes/no"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, words: str) -> None:
    with pytest.raises(ConnectorError, match=words.replace("?", r"\?")):
        backend_from_url(url)


def test_bad_keyword_option() -> None:
    with pytest.raises(ConnectorError, match="bad option for the mqtt connector"):
        backend_from_url("mqtt://127.0.0.1", colour="red")
    with pytest.raises(ConnectorError, match="QoS must be 0 or 1"):
        backend_from_url("mqtt://127.0.0.1", qos=3)


def test_unreadable_tls_files_are_named() -> None:
    endpoint = Endpoint("mqtt", "h", 8883).tls
    assert endpoint.enabled is False
    with pytest.raises(ConnectorError, match=r"cannot use CA file '/nonexistent/ca\.pem'"):
        parse_url("mqtts://h?ca=/nonexistent/ca.pem").tls.context()


def test_mirror_helpers() -> None:
    assert escape_channel("a/+/#") == "a/%2B/%23"
    assert escape_channel("") == "(empty)"
    assert sniff_content_type(b'{"a":1}') == "application/json"
    assert sniff_content_type(b"hello") == "text/plain"
    assert sniff_content_type(b"\xff\xfe") == "application/octet-stream"


@pytest.mark.parametrize(
    "url",
    [
        "mqtt://ada:s3cret@127.0.0.1:99999",
        "amqp://ada:s3cret@/vhost",
        "redis://ada:s3cret@127.0.0.1/cache",
        "mqtt://ada:s3cret/x@127.0.0.1",  # unencoded / ? # @ in a password
        "mqtt://ada:s3cret?x@127.0.0.1",
        "mqtt://ada:s3cret#@127.0.0.1",
        "mqtt://ada:s3@cret@127.0.0.1/x",
        "ada:s3cret@127.0.0.1",  # no scheme
    ],
)
def test_errors_never_quote_the_password(url: str) -> None:
    with pytest.raises(ConnectorError) as caught:
        backend_from_url(url)
    for fragment in ("s3", "cret"):
        assert fragment not in str(caught.value)
    assert "ada:***@" in str(caught.value)
