"""``eventdeck scenarios``: the built-in scenarios, one a line, and how to run one."""

from __future__ import annotations

from collections.abc import Sequence

from eventdeck.core.simulation.catalogue import BUILT_IN, ScenarioInfo

HOW_TO_RUN = (
    "Run one in the window with `eventdeck --scenario NAME`, or headless with `eventdeck serve --scenario NAME`; "
    "NAME may also be an AsyncAPI file with x-eventdeck fields."
)


def scenarios_table(scenarios: Sequence[ScenarioInfo] = BUILT_IN) -> str:
    """The scenarios in aligned columns (name, title, summary), then how to run one."""
    rows = [("NAME", "TITLE", "WHAT IT SHOWS"), *((s.name, s.title, s.summary) for s in scenarios)]
    name_width = max(len(row[0]) for row in rows)
    title_width = max(len(row[1]) for row in rows)
    lines = [f"{name:<{name_width}}  {title:<{title_width}}  {summary}" for name, title, summary in rows]
    return "\n".join([*lines, "", HOW_TO_RUN])


def scenarios_main() -> int:
    print(scenarios_table())
    return 0
