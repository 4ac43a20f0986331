"""Channel names, patterns, the reference matcher and the trie (with a hypothesis property test)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventdeck.core import InvalidChannel, is_broker_channel, is_pattern, matches, validate_channel, validate_pattern
from eventdeck.core.broker.channels import MAX_NAME_BYTES, PatternTrie


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("a/+/b", "wildcards"),
        ("a/#", "wildcards"),
        ("sensor+", "wildcards"),
        ("a\0b", "NUL"),
        ("x" * (MAX_NAME_BYTES + 1), "65,535 UTF-8 bytes"),
        ("é" * (MAX_NAME_BYTES // 2 + 1), "65,535 UTF-8 bytes"),  # fewer characters, too many bytes
    ],
)
def test_invalid_channel_names(name: str, reason: str) -> None:
    with pytest.raises(InvalidChannel) as caught:
        validate_channel(name)
    assert reason in caught.value.reason
    assert reason in str(caught.value)
    assert caught.value.name == name


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("", "empty"),
        ("a/#/b", "last level"),
        ("#/a", "last level"),
        ("a/b#", "whole level"),
        ("a/#b", "whole level"),
        ("a/+b", "whole level"),
        ("a/b+/c", "whole level"),
        ("a/\0", "NUL"),
        ("+/" * 40_000, "65,535 UTF-8 bytes"),
    ],
)
def test_invalid_patterns(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidChannel, match=reason):
        validate_pattern(pattern)


def test_not_a_string() -> None:
    with pytest.raises(InvalidChannel, match="must be a str"):
        validate_channel(42)  # type: ignore[arg-type]


def test_long_message_is_shortened() -> None:
    with pytest.raises(InvalidChannel) as caught:
        validate_channel("x" * 70_000)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("name", ["a", "a/b/c", "$dead/a", "a//b", "/", "x" * MAX_NAME_BYTES, "ünïcode/ok"])
def test_valid_channel_names(name: str) -> None:
    assert validate_channel(name) == name


@pytest.mark.parametrize("pattern", ["#", "+", "a/+/c", "a/#", "+/+/#", "$dead/#", "a/b"])
def test_valid_patterns(pattern: str) -> None:
    assert validate_pattern(pattern) == pattern


def test_is_pattern() -> None:
    assert is_pattern("a/+")
    assert is_pattern("#")
    assert not is_pattern("a/b")


@pytest.mark.parametrize(
    ("pattern", "channel", "expected"),
    [
        ("a/b", "a/b", True),
        ("a/b", "a/b/c", False),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/+", "a", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("#", "anything/at/all", True),
        ("+/+", "a/b", True),
        ("+", "a/b", False),
        ("#", "$dead/a", False),
        ("+/a", "$dead/a", False),
        ("$dead/#", "$dead/a", True),
        ("$dead/+", "$dead/a", True),
        ("a/+/#", "a", False),
        ("a/+/#", "a/b", True),
    ],
)
def test_reference_matcher(pattern: str, channel: str, expected: bool) -> None:
    assert matches(pattern, channel) is expected
    trie: PatternTrie[str] = PatternTrie()
    trie.add(pattern, "v")
    assert (trie.match(channel) == ["v"]) is expected


def test_trie_add_remove_and_prune() -> None:
    trie: PatternTrie[str] = PatternTrie()
    trie.add("a/+/c", "one")
    trie.add("a/+/c", "two")
    trie.add("a/#", "three")
    assert sorted(trie.match("a/b/c")) == ["one", "three", "two"]
    assert len(trie) == 3
    trie.remove("a/+/c", "one")
    assert sorted(trie.match("a/b/c")) == ["three", "two"]
    trie.remove("a/+/c", "two")
    trie.remove("a/#", "three")
    assert len(trie) == 0
    assert trie.match("a/b/c") == []
    assert not trie._root.children  # pruned
    with pytest.raises(KeyError):
        trie.remove("x/y", "nope")
    assert sorted(PatternTrie[str]().values()) == []


LEVELS = st.sampled_from(["a", "b", "c", "$s", ""])
CHANNELS = st.lists(LEVELS, min_size=1, max_size=4).map("/".join).filter(bool)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    levels = draw(st.lists(st.one_of(LEVELS, st.just("+")), min_size=1, max_size=4))
    if draw(st.booleans()):
        levels = [*levels[: draw(st.integers(0, len(levels)))], "#"]
    return "/".join(levels)


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(st.tuples(st.booleans(), patterns().filter(bool)), min_size=1, max_size=30),
    channels=st.lists(CHANNELS, min_size=1, max_size=10),
)
def test_trie_agrees_with_reference(ops: list[tuple[bool, str]], channels: list[str]) -> None:
    """Random adds and removes: the trie always returns exactly what the plain matcher says."""
    trie: PatternTrie[int] = PatternTrie()
    live: dict[int, str] = {}
    for ident, (add, pattern) in enumerate(ops):
        validate_pattern(pattern)
        removable = [key for key, value in live.items() if value == pattern]
        if not add and removable:
            trie.remove(pattern, removable[0])
            del live[removable[0]]
        else:
            trie.add(pattern, ident)
            live[ident] = pattern
        for channel in channels:
            expected = sorted(key for key, value in live.items() if matches(value, channel))
            assert sorted(trie.match(channel)) == expected, (channel, live)
    assert len(trie) == len(live)
    assert sorted(trie.values()) == sorted(live)


def test_the_brokers_own_channels_are_the_dollar_ones() -> None:
    assert is_broker_channel("$dead/fridge/level")
    assert is_broker_channel("$reply/shopping-app")
    assert not is_broker_channel("fridge/level")
    assert not is_broker_channel("fridge/$level")
