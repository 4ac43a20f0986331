"""aiokafka's clients for a Kafka endpoint: their options (TLS, SASL), a first contact that says why a server
cannot be reached, and a consumer stop that finishes its job."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import errors as kafka_errors
from aiokafka.conn import create_conn
from aiokafka.protocol.metadata import MetadataRequest

from eventdeck.core.connectors.address import Endpoint
from eventdeck.core.connectors.errors import ConnectorError

SASL = {"plain": "PLAIN", "scram-sha-256": "SCRAM-SHA-256", "scram-sha-512": "SCRAM-SHA-512", "none": ""}


def parse_sasl(text: str) -> str:
    """The ``sasl=`` URL option as aiokafka names the mechanism ("" for none)."""
    mechanism = SASL.get(text.strip().lower())
    if mechanism is None:
        raise ValueError(f"expected one of {', '.join(SASL)}, got {text!r}")
    return mechanism


def refused(endpoint: Endpoint, why: str) -> str:
    return f"Kafka at {endpoint.addresses} refused {endpoint.username or 'an anonymous login'}: {why}"


def client_options(endpoint: Endpoint, sasl: str, timeout: float) -> dict[str, Any]:
    """The keywords every aiokafka client of ``endpoint`` takes (``sasl``: the mechanism, "" for none)."""
    tls = endpoint.tls.enabled
    options: dict[str, Any] = {
        "bootstrap_servers": endpoint.addresses.split(","),
        "client_id": "eventdeck",
        "request_timeout_ms": int(timeout * 1000),
        "security_protocol": ("SASL_" if sasl else "") + ("SSL" if tls else "PLAINTEXT"),
        "ssl_context": endpoint.tls.context() if tls else None,
    }
    if sasl:
        options |= {
            "sasl_mechanism": sasl,
            "sasl_plain_username": endpoint.username,
            "sasl_plain_password": endpoint.password or "",
        }
    return options


async def first_contact(endpoint: Endpoint, options: dict[str, Any]) -> None:
    """Ask the servers for their metadata ourselves, as the clients will: aiokafka's clients only log why
    they cannot (refused, unknown host, TLS, login) and then say "Unable to bootstrap"."""
    contact = {key: value for key, value in options.items() if key != "bootstrap_servers"}
    sasl = options.get("sasl_mechanism")
    failure: BaseException | None = None
    for host, port in endpoint.servers:
        try:
            connection = await create_conn(host, port, **contact)
        except (KeyError, ValueError) as exc:
            if not sasl:
                raise
            # aiokafka's SCRAM cannot read a server's refusal (it looks for the server's signature)
            raise ConnectorError(refused(endpoint, f"the SASL {sasl} login failed")) from exc
        except Exception as exc:
            failure = failure or exc
            continue
        try:
            await connection.send(MetadataRequest([]))
        except kafka_errors.KafkaConnectionError as exc:
            failure = failure or ConnectorError(
                f"Kafka at {host}:{port} closed the connection before answering"
                + ("" if sasl else " (does it want a login? add USER:PASSWORD@ to the URL)")
            )
            failure.__cause__ = exc
            continue
        finally:
            connection.close()
        return
    assert failure is not None
    raise failure


async def stop_consumer(consumer: Any) -> None:
    """``consumer.stop()``, finished: when the broker is gone aiokafka's stop lets out the CancelledError of a
    fetch it cancelled (``Fetcher.close`` awaits its cancelled tasks) before closing its connections."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        await consumer._client.close()  # what stop() did not get to
