"""AsyncAPI import errors: each names the file, the line, the JSON path and what is wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from eventdeck.core import EventDeckError
from eventdeck.core.asyncapi import AsyncApiError, load_document, parse_document

HEAD = """\
asyncapi: 3.0.0
info:
  title: Errors
  version: 1.0.0
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _error(path: Path) -> AsyncApiError:
    with pytest.raises(AsyncApiError) as caught:
        load_document(path)
    return caught.value


def test_broken_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.yaml", HEAD + "channels:\n  a:\n    address: [unclosed\n  b: {}\n")
    error = _error(path)
    assert isinstance(error, EventDeckError)
    assert error.file == str(path)
    assert error.line == 8
    assert str(error).startswith(f"{path}, line 8: invalid YAML, column")


def test_broken_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.json", '{\n  "asyncapi": "3.0.0",\n  "info": {"title": "x",}\n}\n')
    error = _error(path)
    assert (error.file, error.line) == (str(path), 3)
    assert "invalid JSON" in error.problem


def test_json_documents_import(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok.json", '{"asyncapi": "2.6.0", "info": {"title": "J", "version": "1"}, "channels": {}}')
    assert load_document(path).title == "J"


@pytest.mark.parametrize("version", ["4.0.0", "2.7.0", "1.2.0", "3.2.0", "latest"])
def test_unknown_version_is_named(version: str) -> None:
    with pytest.raises(AsyncApiError) as caught:
        parse_document(HEAD.replace("3.0.0", version, 1), "doc.yaml")
    assert f"unsupported AsyncAPI version {version!r}" in str(caught.value)
    assert (caught.value.line, caught.value.path) == (1, "#/asyncapi")


def test_not_an_asyncapi_document() -> None:
    with pytest.raises(AsyncApiError, match="no 'asyncapi' field"):
        parse_document("info: {title: x, version: '1'}\n")
    with pytest.raises(AsyncApiError, match="an OpenAPI document"):
        parse_document("openapi: 3.1.0\ninfo: {title: x, version: '1'}\n")
    with pytest.raises(AsyncApiError, match="expected a mapping at the top, got a list"):
        parse_document("- 1\n- 2\n")
    with pytest.raises(AsyncApiError, match="'info' has no 'title'"):
        parse_document("asyncapi: 3.0.0\ninfo: {version: '1'}\n")


def test_missing_file(tmp_path: Path) -> None:
    error = _error(tmp_path / "nope.yaml")
    assert error.problem == "no such file"


def test_dangling_ref_names_the_ref_and_where_it_is_used(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "dangling.yaml",
        HEAD
        + """\
channels:
  user/signedup:
    address: user/signedup
    messages:
      signedUp:
        $ref: '#/components/messages/UserSignedUp'
components:
  messages:
    Other: {payload: {type: object}}
""",
    )
    error = _error(path)
    assert error.path == "#/channels/user~1signedup/messages/signedUp/$ref"
    assert error.line == 10
    assert "'#/components/messages/UserSignedUp' points to nothing: no 'UserSignedUp' in #/components/messages" in str(
        error
    )


def test_dangling_ref_in_an_unused_component_still_fails(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "unused.yaml", HEAD + "components:\n  schemas:\n    A:\n      $ref: '#/components/schemas/B'\n"
    )
    error = _error(path)
    assert error.path == "#/components/schemas/A/$ref"
    assert "points to nothing" in error.problem


@pytest.mark.parametrize(
    ("schemas", "cycle"),
    [
        # a chain of references that comes back
        (
            "    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n",
            "#/components/schemas/B -> #/components/schemas/A -> #/components/schemas/B",
        ),
        # a schema that contains itself
        (
            "    Node:\n      type: object\n      properties:\n        child: {$ref: '#/components/schemas/Node'}\n",
            "#/components/schemas/Node -> #/components/schemas/Node",
        ),
    ],
)
def test_ref_cycle_names_the_cycle(tmp_path: Path, schemas: str, cycle: str) -> None:
    channel = "channels:\n  c:\n    address: c\n    messages:\n      m:\n        payload: {$ref: '#/components/schemas/"
    first = "B" if "B:" in schemas else "Node"
    path = _write(tmp_path, "cycle.yaml", HEAD + channel + first + "'}\ncomponents:\n  schemas:\n" + schemas)
    error = _error(path)
    assert f"$ref cycle: {cycle}" in str(error)
    assert error.line is not None


def test_refs_to_files_beside_the_document(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "schemas/user.yaml",
        """\
        User:
          type: object
          properties:
            email: {$ref: '#/Email'}
        Email: {type: string, format: email}
        """,
    )
    _write(
        tmp_path,
        "messages.json",
        '{"signedUp": {"name": "UserSignedUp", "payload": {"$ref": "schemas/user.yaml#/User"}}}',
    )
    path = _write(
        tmp_path,
        "doc.yaml",
        HEAD
        + "channels:\n  u:\n    address: user/signedup\n    messages:\n      m: {$ref: 'messages.json#/signedUp'}\n",
    )
    (message,) = load_document(path).messages
    assert message.name == "UserSignedUp"
    assert message.payload == {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}
    assert message.origin == "messages.json#/signedUp"


def test_errors_in_a_referenced_file_name_that_file(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", "a: [1, 2\n")
    path = _write(tmp_path, "doc.yaml", HEAD + "components:\n  schemas:\n    X: {$ref: 'bad.yaml#/a'}\n")
    error = _error(path)
    assert error.file.endswith("bad.yaml")
    assert error.line == 2
    missing = _write(tmp_path, "doc2.yaml", HEAD + "components:\n  schemas:\n    X: {$ref: 'gone.yaml'}\n")
    assert "points to nothing: no file 'gone.yaml'" in str(_error(missing))


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("ftp://example.com/s.yaml#/X", "follows references to files and to http(s) URLs, not ftp:"),
        ("#components/schemas", "must be a JSON Pointer"),
    ],
)
def test_refs_that_are_not_followed(tmp_path: Path, ref: str, problem: str) -> None:
    _write(tmp_path, "outside.yaml", "X: {type: string}\n")
    path = _write(tmp_path, "inner/doc.yaml", HEAD + f"components:\n  schemas:\n    X: {{$ref: '{ref}'}}\n")
    assert problem in str(_error(path))


def test_file_refs_need_a_file() -> None:
    with pytest.raises(AsyncApiError, match="not read from one"):
        parse_document(HEAD + "components:\n  schemas:\n    X: {$ref: 'other.yaml'}\n")


@pytest.mark.parametrize(
    ("body", "path", "problem"),
    [
        (
            "channels:\n  c: {address: c}\noperations:\n  o:\n    action: publish\n"
            "    channel: {$ref: '#/channels/c'}\n",
            "#/operations/o/action",
            "'action' must be 'send' or 'receive', got str 'publish'",
        ),
        (
            "operations:\n  o:\n    action: send\n",
            "#/operations/o",
            "has no 'channel'",
        ),
        (
            "channels:\n  c: {address: c}\noperations:\n  o:\n    action: send\n    channel: {$ref: '#/components/x'}\n"
            "components:\n  x: {address: c}\n",
            "#/operations/o/channel",
            "must be a $ref to one of the document's channels",
        ),
        (
            "channels:\n  c:\n    address: c\n    messages:\n      m:\n        payload: {type: 12}\n",
            "#/channels/c/messages/m/payload",
            "not a valid JSON Schema at /type",
        ),
        (
            "channels:\n  c:\n    address: 7\n",
            "#/channels/c/address",
            "'address' must be text or null, got int 7",
        ),
        ("channels: [a, b]\n", "#/channels", "'channels' must be a mapping, got a list"),
    ],
)
def test_structural_errors_name_the_path(body: str, path: str, problem: str) -> None:
    with pytest.raises(AsyncApiError) as caught:
        parse_document(HEAD + body, "doc.yaml")
    assert caught.value.path == path
    assert problem in caught.value.problem
    assert caught.value.line is not None


def test_other_schema_formats_are_kept_but_not_checked() -> None:
    document = parse_document(
        HEAD
        + """\
channels:
  c:
    address: c
    messages:
      m:
        payload:
          schemaFormat: application/vnd.apache.avro;version=1.9.0
          schema: {type: record, name: User, fields: [{name: name, type: string}]}
"""
    )
    (message,) = document.messages
    assert message.schema_format == "application/vnd.apache.avro;version=1.9.0"
    assert message.payload["type"] == "record"
    assert not message.validatable
