"""Who may read and write which channels: access rules in the spirit of Mosquitto's ``acl_file``.

::

    # rules before any 'user' line are for clients without a user name
    topic read public/#

    # 'topic [read|write|readwrite|deny] CHANNEL'; without an access word: readwrite
    user alice
    topic readwrite fridge/#
    topic deny fridge/secret

    # for every client: %u is its user name, %c its client id
    pattern write sensors/%u/#
    pattern read replies/%c/#

Channels in rules may use MQTT wildcards. With rules in force, anything they do not grant is
refused; a ``deny`` rule wins over any grant. Subscribing to a filter needs a read grant that
covers every channel the filter can match (``fridge/#`` under ``fridge/#``, not under
``fridge/door``), and a deny rule inside it is applied to each message as it is delivered.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from eventdeck.core.broker.channels import matches, validate_pattern
from eventdeck.core.broker.errors import InvalidChannel
from eventdeck.core.gateways.errors import AccessRulesError

MAX_FILE_BYTES = 1024 * 1024


class Access(enum.Flag):
    READ = enum.auto()
    WRITE = enum.auto()
    READWRITE = READ | WRITE


_ACCESS_WORDS = {"read": Access.READ, "write": Access.WRITE, "readwrite": Access.READWRITE}


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: str
    access: Access | None  # None: deny
    templated: bool = False  # a 'pattern' line: %u and %c are filled in per client

    def channel_for(self, user: str, client_id: str) -> str:
        if not self.templated:
            return self.pattern
        return self.pattern.replace("%u", user).replace("%c", client_id)


def covers(rule: str, pattern: str) -> bool:
    """True when every channel ``pattern`` can match is matched by ``rule`` (both MQTT filters)."""
    rule_levels, levels = rule.split("/"), pattern.split("/")
    for index, level in enumerate(levels):
        if index >= len(rule_levels):
            return False
        granted = rule_levels[index]
        if granted == "#":
            return True
        if level == "#" or (level == "+" and granted != "+") or (granted not in ("+", level)):
            return False
    return len(rule_levels) == len(levels) or rule_levels[len(levels) :] == ["#"]


class AccessRules:
    """Parsed rules; ask ``may_write``, ``may_subscribe`` and ``may_read`` per client."""

    def __init__(self, anonymous: Iterable[Rule], users: dict[str, list[Rule]], patterns: Iterable[Rule]) -> None:
        self._anonymous = tuple(anonymous)
        self._users = {user: tuple(rules) for user, rules in users.items()}
        self._patterns = tuple(patterns)

    def rules_for(self, user: str | None, client_id: str) -> tuple[tuple[str, Access | None], ...]:
        """This client's rules with %u and %c filled in (a user name holding wildcards gets no pattern rules)."""
        own = self._anonymous if user is None else self._users.get(user, ())
        name = user or ""
        safe = not any(char in name + client_id for char in "+#/")
        patterns = tuple((r.channel_for(name, client_id), r.access) for r in self._patterns if safe or not r.templated)
        return tuple((r.pattern, r.access) for r in own) + patterns

    def client(self, user: str | None, client_id: str) -> ClientAccess:
        return ClientAccess(self.rules_for(user, client_id))

    @classmethod
    def parse(cls, text: str, source: str = "<rules>") -> AccessRules:
        anonymous: list[Rule] = []
        users: dict[str, list[Rule]] = {}
        patterns: list[Rule] = []
        current = anonymous
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):  # comments are whole lines: '#' is also a wildcard
                continue
            word, _, rest = line.partition(" ")
            rest = rest.strip()
            if word == "user":
                if not rest:
                    raise AccessRulesError(f"{source}:{number}: 'user' needs a user name")
                current = users.setdefault(rest, [])
            elif word in ("topic", "pattern"):
                rule = _rule(rest, templated=word == "pattern", where=f"{source}:{number}")
                (patterns if word == "pattern" else current).append(rule)
            else:
                raise AccessRulesError(
                    f"{source}:{number}: unknown line {word!r}; expected 'user NAME', 'topic [ACCESS] CHANNEL' "
                    "or 'pattern [ACCESS] CHANNEL'"
                )
        return cls(anonymous, users, patterns)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AccessRules:
        source = Path(path)
        try:
            if source.stat().st_size > MAX_FILE_BYTES:
                raise AccessRulesError(f"{source}: larger than {MAX_FILE_BYTES // 1024:,} KiB; is this an access file?")
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AccessRulesError(f"{source}: cannot read the access rules: {exc}") from None
        return cls.parse(text, str(source))


def _rule(rest: str, *, templated: bool, where: str) -> Rule:
    first, _, channel = rest.partition(" ")
    access: Access | None
    if first == "deny":
        access = None
    elif first in _ACCESS_WORDS:
        access = _ACCESS_WORDS[first]
    else:
        access, channel = Access.READWRITE, rest
    channel = channel.strip()
    if not channel:
        raise AccessRulesError(f"{where}: the rule names no channel")
    try:
        validate_pattern(channel.replace("%u", "u").replace("%c", "c"))
    except InvalidChannel as exc:
        raise AccessRulesError(f"{where}: {exc}") from None
    return Rule(channel, access, templated)


class ClientAccess:
    """One client's rules, with answers for delivered channels cached (a few per channel, not per message)."""

    def __init__(self, rules: tuple[tuple[str, Access | None], ...]) -> None:
        self._grants = [(pattern, access) for pattern, access in rules if access is not None]
        self._denied = [pattern for pattern, access in rules if access is None]
        self._readable: dict[str, bool] = {}

    def _granted(self, channel: str, access: Access) -> bool:
        if any(matches(pattern, channel) for pattern in self._denied):
            return False
        return any(wanted & access and matches(pattern, channel) for pattern, wanted in self._grants)

    def may_write(self, channel: str) -> bool:
        return self._granted(channel, Access.WRITE)

    def may_read(self, channel: str) -> bool:
        known = self._readable.get(channel)
        if known is None:
            if len(self._readable) > 10_000:  # a client subscribed to millions of channels: keep memory flat
                self._readable.clear()
            known = self._readable[channel] = self._granted(channel, Access.READ)
        return known

    def may_subscribe(self, pattern: str) -> bool:
        if any(covers(denied, pattern) for denied in self._denied):
            return False
        return any(wanted & Access.READ and covers(granted, pattern) for granted, wanted in self._grants)

    @property
    def filters_deliveries(self) -> bool:
        """Whether deliveries need ``may_read`` per channel (only deny rules can carve into a granted filter)."""
        return bool(self._denied)
