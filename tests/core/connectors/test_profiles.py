"""Saved connection profiles (JSON, no passwords) and passwords in the keyring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from keyring.backends import fail

from eventdeck.core.connectors import ConnectorError, TLSOptions, backend_for
from eventdeck.core.connectors.credentials import CredentialStore
from eventdeck.core.connectors.profiles import Profile, ProfileStore
from tests.core.connectors.keyring_support import MemoryKeyring


def rabbit() -> Profile:
    return Profile(
        "rabbit",
        "amqp",
        "rabbit.local",
        5671,
        vhost="orders",
        username="alice",
        tls=TLSOptions(True, ca_file="/etc/ca.pem", verify=False),
        options={"exchanges": "amq.topic,events"},
    )


def test_profiles_round_trip_without_passwords(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "sub" / "profiles.json")
    assert store.load() == []
    store.put(rabbit())
    store.put(Profile.from_url("local mqtt", "mqtt://bob:secret@127.0.0.1:1883"))
    assert [profile.name for profile in store.load()] == ["rabbit", "local mqtt"]
    assert store.get("rabbit") == rabbit()
    text = store.path.read_text()
    assert "secret" not in text
    assert "password" not in text
    store.put(Profile("rabbit", "amqp", "other", 5672))  # replaces by name
    assert store.get("rabbit") == Profile("rabbit", "amqp", "other", 5672)
    assert store.remove("rabbit")
    assert not store.remove("rabbit")


def test_profile_gives_an_endpoint_and_a_backend() -> None:
    endpoint = rabbit().endpoint("pw")
    assert endpoint.display == "amqps://alice@rabbit.local:5671/orders"
    assert endpoint.password == "pw"
    backend = backend_for(endpoint)
    assert backend.exchanges == ["amq.topic", "events"]  # type: ignore[attr-defined]
    assert Profile("r", "redis", "h", 6379).endpoint().path == "0"


def test_a_kafka_profile_lists_several_servers(tmp_path: Path) -> None:
    profile = Profile.from_url("cluster", "kafka://ada:pw@k1:9093,k2,[::1]:9000")
    assert (profile.host, profile.port) == ("k1,k2:9092,[::1]:9000", 9093)
    store = ProfileStore(tmp_path / "profiles.json")
    store.put(profile)
    loaded = store.get("cluster")
    assert loaded == profile
    assert loaded.endpoint("pw").display == "kafka://ada@k1:9093,k2:9092,[::1]:9000"
    assert Profile("typed", "kafka", "k1,k2", 9092).endpoint().servers == (("k1", 9092), ("k2", 9092))
    with pytest.raises(ConnectorError, match="profile 'bad': bad server 'k2:x'"):
        Profile("bad", "kafka", "k1,k2:x", 9092)
    with pytest.raises(ConnectorError, match="profile 'one': a redis profile names one host, got 'a,b'"):
        Profile("one", "redis", "a,b", 6379)


def test_a_password_in_a_file_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    data = {"name": "x", "kind": "redis", "host": "h", "port": 6379, "password": "leak"}
    path.write_text(json.dumps({"profiles": [data]}))
    store = ProfileStore(path)
    store.save(store.load())
    assert "leak" not in path.read_text()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{", "not valid JSON"),
        ("[]", "expected {'profiles'"),
        ('{"profiles": [{"name": "x"}]}', "incomplete or malformed"),
        ('{"profiles": [{"name": "x", "kind": "pulsar", "host": "h"}]}', "unknown kind 'pulsar'"),
        ('{"profiles": [{"name": "x", "kind": "mqtt", "host": "h", "port": 0}]}', "unknown kind|port must be"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "profiles.json"
    path.write_text(content)
    with pytest.raises(ConnectorError, match=words):
        ProfileStore(path).load()


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="unique: rabbit"):
        ProfileStore(tmp_path / "p.json").save([rabbit(), rabbit()])


def test_passwords_in_a_keyring() -> None:
    store = CredentialStore(backend=MemoryKeyring())
    assert store.available
    assert store.reason == ""
    assert store.load("rabbit") is None
    store.store("rabbit", "s3cret")
    assert store.load("rabbit") == "s3cret"
    assert store.delete("rabbit")
    assert not store.delete("rabbit")


def test_without_a_keyring_passwords_are_asked_each_time() -> None:
    store = CredentialStore(backend=fail.Keyring())
    assert store.ask_each_time
    assert "asked each time" in store.reason
    assert store.load("rabbit") is None
    with pytest.raises(ConnectorError, match="cannot save the password of 'rabbit': no usable system keyring"):
        store.store("rabbit", "pw")
