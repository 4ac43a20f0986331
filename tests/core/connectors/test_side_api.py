"""Where the side APIs (RabbitMQ management, NATS monitoring) are asked, over what, and with whose credentials.

Basic auth is the password in cleartext: it never goes over plain HTTP to a host other than
loopback unless the URL says ``management_insecure=yes`` / ``monitor_insecure=yes``.
"""

from __future__ import annotations

import pytest

from eventdeck.core.connectors import ConnectorError, backend_from_url
from eventdeck.core.connectors.amqp import AmqpBackend
from eventdeck.core.connectors.nats import NatsBackend
from eventdeck.core.connectors.side_api import SideApi, is_loopback


def _management(url: str) -> SideApi:
    backend = backend_from_url(url)
    assert isinstance(backend, AmqpBackend)
    assert backend.side_api is not None
    return backend.side_api


def _monitoring(url: str) -> SideApi:
    backend = backend_from_url(url)
    assert isinstance(backend, NatsBackend)
    assert backend.side_api is not None
    return backend.side_api


def test_amqps_asks_the_management_api_over_https_with_the_connections_tls_options() -> None:
    api = _management("amqps://alice:S3cret@h:5671/?ca=/etc/ca.pem&cert=/etc/me.pem&key=/etc/me.key&verify=no")
    assert api.url == "https://h:15671"
    assert api.username == "alice"
    assert api.refused is None
    assert api.tls is not None
    assert (api.tls.ca_file, api.tls.cert_file, api.tls.key_file, api.tls.verify) == (
        "/etc/ca.pem",
        "/etc/me.pem",
        "/etc/me.key",
        False,
    )


def test_the_issue_url_plans_https_on_15671() -> None:
    backend = backend_from_url("amqps://alice:S3cret@h:5671/")
    assert isinstance(backend, AmqpBackend)
    assert backend.management_url == "https://h:15671"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "localhost", "[::1]"])
def test_plain_http_with_credentials_is_fine_on_loopback(host: str) -> None:
    api = _management(f"amqp://alice:S3cret@{host}:5672/")
    assert api.url == f"http://{host}:15672"
    assert api.username == "alice"
    assert api.tls is None
    assert api.refused is None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_amqps_on_loopback_uses_https_too(host: str) -> None:
    assert _management(f"amqps://alice:S3cret@{host}/").url == f"https://{host}:15671"


async def test_plain_http_with_credentials_off_loopback_is_refused_and_never_sent() -> None:
    api = _management("amqp://alice:S3cret@rabbit.example:5672/")
    assert api.url == "http://rabbit.example:15672"
    assert api.refused is not None
    for words in ("cleartext", "alice", "rabbit.example", "management=https://", "management_insecure=yes"):
        assert words in api.refused
    assert "S3cret" not in api.refused
    # Refused before any request: no connection is even attempted (the host does not exist).
    assert await api.check("/api/overview") == api.refused
    with pytest.raises(ConnectorError, match="management_insecure=yes"):
        await api.get_json("/api/queues/%2F")
    await api.close()


def test_an_explicit_http_management_url_off_loopback_still_needs_the_opt_in() -> None:
    assert _management("amqps://alice:S3cret@h/?management=http://h:15672").refused is not None
    allowed = _management("amqps://alice:S3cret@h/?management=http://h:15672&management_insecure=yes")
    assert allowed.url == "http://h:15672"
    assert allowed.refused is None


def test_management_insecure_allows_plain_http_off_loopback() -> None:
    api = _management("amqp://alice:S3cret@rabbit.example/?management_insecure=yes")
    assert api.url == "http://rabbit.example:15672"
    assert api.username == "alice"
    assert api.refused is None


def test_credentials_in_the_management_url_are_its_own_and_never_shown() -> None:
    api = _management("amqp://alice:S3cret@127.0.0.1/?management=https://ops:Pa55@rabbit.example:15671/")
    assert api.url == "https://rabbit.example:15671"
    assert api.username == "ops"
    assert api.refused is None
    refused = _management("amqp://alice:S3cret@127.0.0.1/?management=http://ops:Pa55@rabbit.example:15672")
    assert refused.refused is not None
    assert "ops" in refused.refused
    assert "Pa55" not in refused.refused


def test_a_bad_management_url_never_quotes_its_password() -> None:
    with pytest.raises(ConnectorError) as caught:
        backend_from_url("amqp://h/?management=ftp://ops:Pa55@h:21")
    assert "Pa55" not in str(caught.value)


def test_nats_monitoring_sends_no_credentials_by_default() -> None:
    api = _monitoring("nats://alice:S3cret@nats.example:4222")
    assert api.url == "http://nats.example:8222"
    assert api.username is None
    assert api.refused is None


def test_nats_monitoring_credentials_follow_the_same_rule() -> None:
    refused = _monitoring("nats://nats.example?monitor=http://ops:Pa55@nats.example:8222")
    assert refused.refused is not None
    assert "monitor_insecure=yes" in refused.refused
    assert "Pa55" not in refused.refused
    assert _monitoring("nats://nats.example?monitor=http://ops:Pa55@127.0.0.1:8222").refused is None
    allowed = _monitoring("nats://nats.example?monitor=http://ops:Pa55@nats.example:8222&monitor_insecure=yes")
    assert allowed.refused is None
    secure = _monitoring("nats://nats.example?ca=/etc/ca.pem&monitor=https://ops:Pa55@nats.example:8222")
    assert secure.refused is None
    assert secure.tls is not None
    assert secure.tls.ca_file == "/etc/ca.pem"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("db.localhost", True),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("localhost.example", False),
        ("rabbit", False),
    ],
)
def test_loopback_is_decided_without_resolving_names(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
