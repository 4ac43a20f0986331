"""serve's secrets and limits: tokens and passwords from files and the environment, never only from flags."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from eventdeck.core.cli.serve_settings import HTTP_TOKEN_VARIABLE, MQTT_PASSWORD_VARIABLE, http_token, mqtt_credentials


def test_the_http_token_comes_from_the_environment_or_a_file_not_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(HTTP_TOKEN_VARIABLE, raising=False)
    assert http_token(None, None) is None
    monkeypatch.setenv(HTTP_TOKEN_VARIABLE, "from-env")
    assert http_token(None, None) == "from-env"
    monkeypatch.delenv(HTTP_TOKEN_VARIABLE)
    secret = tmp_path / "token"
    secret.write_text("from-file\n", encoding="utf-8")
    assert http_token(None, secret) == "from-file"
    with caplog.at_level(logging.WARNING):
        assert http_token("on-the-line", None) == "on-the-line"  # kept, with a warning
    assert "every user of this machine can read it" in caplog.text


@pytest.mark.parametrize(
    ("content", "problem"),
    [("", "the token alone, on one line"), ("a\nb\n", "the token alone, on one line"), (None, "cannot read it")],
)
def test_a_bad_token_file_is_refused_with_the_reason(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        http_token(None, path)


def test_a_token_given_two_ways_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HTTP_TOKEN_VARIABLE, "one")
    with pytest.raises(ValueError, match=r"given 2 ways \(--http-token, \$EVENTDECK_HTTP_TOKEN\)"):
        http_token("two", None)


def test_mqtt_users_come_from_a_password_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    passwords = tmp_path / "passwords"
    passwords.write_text("# who may log in\nalice:wonder:land\n\nmallory:evil\n", encoding="utf-8")
    passwords.chmod(0o644)
    monkeypatch.setenv(MQTT_PASSWORD_VARIABLE, "s3cret")
    with caplog.at_level(logging.WARNING):
        users = mqtt_credentials("bob", passwords)
    assert users == {"alice": "wonder:land", "mallory": "evil", "bob": "s3cret"}
    assert "can be read by other users" in caplog.text
    assert mqtt_credentials(None, None) is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("alice\n", "passwords:1: expected 'name:password'"),
        ("alice:a\nalice:b\n", "passwords:2: user 'alice' is listed twice"),
        ("# nothing\n", "no 'name:password' line"),
    ],
)
def test_a_bad_password_file_names_the_line(tmp_path: Path, content: str, problem: str) -> None:
    passwords = tmp_path / "passwords"
    passwords.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        mqtt_credentials(None, passwords)
