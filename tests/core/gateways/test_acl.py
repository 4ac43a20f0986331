"""Access rules (serve --acl): Mosquitto's acl_file lines, read/write per user, %u and %c, deny wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventdeck.core.gateways.acl import AccessRules, covers
from eventdeck.core.gateways.errors import AccessRulesError

RULES = """
# anonymous clients
topic read public/#

user alice
topic readwrite fridge/#
topic deny fridge/secret
topic write commands/defrost

user mallory
topic read weather/+

pattern write sensors/%u/#
pattern read inbox/%c
"""


def test_users_get_their_own_rules_and_the_patterns() -> None:
    rules = AccessRules.parse(RULES)
    alice = rules.client("alice", "a1")
    assert alice.may_write("fridge/level")
    assert alice.may_read("fridge/level")
    assert alice.may_write("commands/defrost")
    assert not alice.may_read("commands/defrost")  # write only
    assert alice.may_write("sensors/alice/temp")
    assert not alice.may_write("sensors/bob/temp")
    assert alice.may_read("inbox/a1")
    assert not alice.may_read("inbox/b2")
    assert not alice.may_read("public/news")  # anonymous rules are not alice's


def test_deny_wins_over_a_grant_for_publishing_reading_and_subscribing() -> None:
    alice = AccessRules.parse(RULES).client("alice", "a1")
    assert not alice.may_write("fridge/secret")
    assert not alice.may_read("fridge/secret")
    assert not alice.may_subscribe("fridge/secret")
    assert alice.may_subscribe("fridge/#")  # granted, and the secret is filtered per delivery
    assert alice.filters_deliveries


def test_a_subscription_needs_a_read_grant_covering_everything_it_can_match() -> None:
    mallory = AccessRules.parse(RULES).client("mallory", "m1")
    assert mallory.may_subscribe("weather/today")
    assert mallory.may_subscribe("weather/+")
    assert not mallory.may_subscribe("weather/#")  # would also match weather/a/b
    assert not mallory.may_subscribe("#")
    assert not mallory.may_subscribe("commands/defrost")  # the forger stays off the command channel
    assert not mallory.may_write("commands/defrost")
    assert not mallory.filters_deliveries


def test_clients_without_a_user_name_get_the_rules_before_any_user_line() -> None:
    anonymous = AccessRules.parse(RULES).client(None, "x")
    assert anonymous.may_read("public/news")
    assert anonymous.may_subscribe("public/#")
    assert not anonymous.may_write("public/news")
    assert anonymous.may_read("inbox/x")


def test_a_user_name_with_wildcards_gets_no_pattern_rules() -> None:
    rules = AccessRules.parse(RULES)
    sneaky = rules.client("#", "c")
    assert not sneaky.may_write("sensors/anything/at/all")
    assert not sneaky.may_read("inbox/c")


@pytest.mark.parametrize(
    ("rule", "pattern", "expected"),
    [
        ("a/#", "a/#", True),
        ("a/#", "a/b/+", True),
        ("a/#", "a", True),
        ("a/+", "a/b", True),
        ("a/+", "a/+", True),
        ("a/+", "a/#", False),
        ("a/b", "a/+", False),
        ("#", "anything/#", True),
        ("a/+/c", "a/x/c", True),
        ("a/+/c", "a/x/d", False),
        ("a/b", "a/b/c", False),
    ],
)
def test_covers(rule: str, pattern: str, expected: bool) -> None:
    assert covers(rule, pattern) is expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("user\n", "needs a user name"),
        ("topic read\n", "names no channel"),
        ("listener 1883\n", "unknown line 'listener'"),
        ("topic read a/#/b\n", "invalid channel"),
    ],
)
def test_bad_lines_are_refused_with_the_line_number(text: str, problem: str) -> None:
    with pytest.raises(AccessRulesError, match=problem) as caught:
        AccessRules.parse("# first\n" + text, "acl.conf")
    assert "acl.conf:2" in str(caught.value)


def test_load_names_the_file_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(AccessRulesError, match="cannot read"):
        AccessRules.load(tmp_path / "missing.acl")
    path = tmp_path / "rules.acl"
    path.write_text(RULES)
    assert AccessRules.load(path).client("alice", "a").may_read("fridge/door")
