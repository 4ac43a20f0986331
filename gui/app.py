"""Entry point: the ``eventdeck`` command line, and the qasync start/stop of the window.

Only ``run_window`` imports Qt, so ``--help``/``--version`` and the headless commands
(``serve``, ``replay``, ``asyncapi check``, ``scenarios``) stay fast and work without a display.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from eventdeck.core.cli.serve_settings import (
    DATA_HELP,
    DATA_SYNC_HELP,
    DEFAULT_HTTP_MAX_BODY,
    DEFAULT_SUMMARY_EVERY,
    HTTP_TOKEN_VARIABLE,
    MQTT_PASSWORD_VARIABLE,
    mqtt_limit_defaults,
)
from eventdeck.core.gateways.listen import (
    DEFAULT_HTTP,
    DEFAULT_HTTP_PORT,
    DEFAULT_MQTT,
    DEFAULT_MQTT_PORT,
    ListenAddress,
    parse_listen_address,
)

log = logging.getLogger("eventdeck")
Number = TypeVar("Number", int, float)

# Qt's xcb platform plugin loads these at start; fresh Debian/Ubuntu machines often lack them.
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-image": "libxcb-image0",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-shape": "libxcb-shape0",
    "xkbcommon-x11": "libxkbcommon-x11-0",
    "EGL": "libegl1",
    "fontconfig": "libfontconfig1",
}


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - ~10 ms: only when asked

    try:
        return version("eventdeck")
    except PackageNotFoundError:
        return "0+unknown"


class VersionAction(argparse.Action):
    """``--version``: the installed version is looked up only when asked, not at every start."""

    def __init__(self, option_strings: list[str], dest: str) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        print(f"EventDeck {app_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eventdeck",
        description="See and play with event-driven systems: an embedded broker with a live window onto it.",
    )
    parser.add_argument("--version", action=VersionAction)
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument(
        "--demo", dest="demo", action="store_true", default=None, help="run the demo workspace (default: first launch)"
    )
    demo.add_argument("--no-demo", dest="demo", action="store_false", help="start with an empty broker")
    demo.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        help="run a scenario: a built-in one (see 'eventdeck scenarios') or an AsyncAPI 3 document "
        "with x-eventdeck fields",
    )
    parser.add_argument(
        "--present", action="store_true", help="open in the presenter view (View > Present, F5; Esc leaves)"
    )
    parser.add_argument(
        "--screenshot", metavar="PATH", type=Path, help="save a PNG of the window after a delay, then exit"
    )
    parser.add_argument(
        "--screenshot-delay",
        metavar="SECONDS",
        type=_non_negative_float,
        default=3.0,
        help="seconds to wait before --screenshot (default: 3)",
    )
    parser.add_argument(
        "--ring-size", metavar="ROWS", type=_positive_int, help="rows the live stream keeps (default: 100000)"
    )
    parser.add_argument(
        "--mqtt",
        metavar="HOST:PORT|off",
        type=lambda text: _checked_listen_address(text, DEFAULT_MQTT_PORT),
        help=f"where MQTT clients connect (default: as last set in the app, else 127.0.0.1:{DEFAULT_MQTT_PORT})",
    )
    parser.add_argument(
        "--http",
        metavar="HOST:PORT|off",
        type=lambda text: _checked_listen_address(text, DEFAULT_HTTP_PORT),
        help=f"where HTTP clients connect (default: as last set in the app, else 127.0.0.1:{DEFAULT_HTTP_PORT})",
    )
    parser.add_argument(
        "--asyncapi",
        metavar="FILE",
        type=Path,
        help="open an AsyncAPI 2.6/3.x document: its channels, message templates and live validation",
    )
    parser.add_argument(
        "--connect",
        metavar="URL",
        help="open onto a broker you run: mqtt://HOST:1883, amqp://USER:PASS@HOST/, nats://HOST:4222, "
        "redis://HOST:6379/0, kafka://HOST:9092",
    )
    parser.add_argument(
        "--fetch-remote-refs",
        action="store_true",
        help="fetch the http(s) documents AsyncAPI documents refer to with $ref, for this session "
        "(also File > Fetch Remote References; default: not fetched, their schemas are not validated)",
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        type=Path,
        help="where the window's broker keeps durable subscriptions and their queued messages, retained messages "
        "and MQTT sessions across restarts (default: the 'broker' folder of EventDeck's app-data folder; see "
        "File > Broker data…); one EventDeck per DIR, another one opens on a broker in memory",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands (none: open the window)")
    serve = commands.add_parser(
        "serve", help="run the broker and its gateways without a window", description=serve_description()
    )
    serve.add_argument(
        "--mqtt",
        metavar="HOST:PORT|off",
        type=lambda text: _listen_address(text, DEFAULT_MQTT_PORT),
        default=DEFAULT_MQTT,
        help=f"MQTT 3.1.1/5.0 gateway (default 127.0.0.1:{DEFAULT_MQTT_PORT})",
    )
    serve.add_argument(
        "--http",
        metavar="HOST:PORT|off",
        type=lambda text: _listen_address(text, DEFAULT_HTTP_PORT),
        default=DEFAULT_HTTP,
        help=f"HTTP/WebSocket gateway (default 127.0.0.1:{DEFAULT_HTTP_PORT})",
    )
    serve.add_argument(
        "--http-token-file",
        metavar="FILE",
        type=Path,
        help=f"bearer token HTTP clients must send, read from FILE (or set ${HTTP_TOKEN_VARIABLE}); "
        "required off loopback",
    )
    serve.add_argument(
        "--http-token", metavar="TOKEN", help="the token on the command line: other users can read it in ps; avoid"
    )
    serve.add_argument(
        "--http-max-body",
        metavar="BYTES",
        type=_positive_int,
        default=DEFAULT_HTTP_MAX_BODY,
        help="largest request body HTTP clients may send, in bytes (default %(default)s: 1 MiB)",
    )
    serve.add_argument(
        "--mqtt-user",
        metavar="NAME",
        help=f"MQTT clients must log in as NAME with the password in ${MQTT_PASSWORD_VARIABLE} (required off loopback)",
    )
    serve.add_argument(
        "--mqtt-password-file",
        metavar="FILE",
        type=Path,
        help="more MQTT users, one 'name:password' line each (chmod 600 it); with --acl, rules per user",
    )
    serve.add_argument(
        "--acl",
        metavar="FILE",
        type=Path,
        help="access rules in the spirit of Mosquitto's acl_file: 'user NAME', then 'topic [read|write|readwrite|deny] "
        "CHANNEL' lines; 'pattern ...' lines for everyone, with %%u (user name) and %%c (client id); HTTP clients get "
        "the rules written before any 'user' line",
    )
    serve.add_argument(
        "--mqtt-limit",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="change an MQTT limit, e.g. max_packet_size=65536 (repeatable); the limits and their defaults: "
        f"{mqtt_limit_defaults()} (sizes in bytes, times in seconds)",
    )
    serve.add_argument(
        "--export-asyncapi",
        metavar="FILE",
        type=Path,
        help="when stopped, write an AsyncAPI 3.0 document of the channels and messages observed",
    )
    serve.add_argument(
        "--record",
        metavar="FILE",
        type=Path,
        help="write every message to FILE as it passes (a new recording: FILE must not exist yet; "
        "see 'eventdeck replay'); "
        "if writing fails, serve goes on and exits 1 when stopped",
    )
    serve.add_argument(
        "--summary-every",
        metavar="SECONDS",
        type=_positive_float,
        default=DEFAULT_SUMMARY_EVERY,
        help="seconds between summary lines (default %(default)g)",
    )
    serve.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        default=argparse.SUPPRESS,  # keeps a --scenario given before 'serve'
        help="also run a scenario's simulation once the gateways listen: a built-in one (see 'eventdeck scenarios') "
        "or an AsyncAPI 3 document with x-eventdeck fields; a bad one exits 2 before anything listens",
    )
    serve.add_argument("--data", metavar="DIR", type=Path, default=argparse.SUPPRESS, help=DATA_HELP)
    serve.add_argument("--data-sync", choices=("full", "normal"), default="full", help=DATA_SYNC_HELP)
    replay = commands.add_parser(
        "replay",
        help="send a recording again into a broker you run",
        description="Send the events and commands of a recording (File > Export messages…, or serve --record) "
        "again, keeping their recorded gaps (divided by --speed). Replies and $-channel messages are left out: "
        "the system makes them again. Exit code 0 when all was sent and every command answered, 1 otherwise, "
        "130 on Ctrl+C, 143 on SIGTERM.",
    )
    replay.add_argument("file", metavar="FILE", type=Path, help="the recording (.jsonl)")
    replay.add_argument(
        "--into",
        metavar="URL",
        required=True,
        help="mqtt://HOST:1883, amqp://USER:PASS@HOST/, nats://HOST:4222, redis://HOST:6379/0 or kafka://HOST:9092",
    )
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        metavar="FACTOR",
        type=_positive_float,
        default=1.0,
        help="1 keeps the recorded gaps, 10 replays ten times faster (default 1)",
    )
    pace.add_argument("--fast", action="store_true", help="send as fast as the broker takes them")
    replay.add_argument(
        "--reply-timeout",
        metavar="SECONDS",
        type=_positive_float,
        default=5.0,
        help="seconds a replayed command waits for its reply (default %(default)g)",
    )
    asyncapi = commands.add_parser("asyncapi", help="work on AsyncAPI documents without a window")
    asyncapi_commands = asyncapi.add_subparsers(dest="asyncapi_command", metavar="ACTION", required=True)
    check = asyncapi_commands.add_parser(
        "check",
        help="validate a document and print a JSON summary",
        description="Validate an AsyncAPI 2.6 or 3.x document (YAML or JSON). Prints one JSON object "
        "(version, title, channels, messages, operations with counts and names) and exits 0, "
        "or prints the specific error (file, line, JSON path) on stderr and exits 1. A document with "
        "x-eventdeck fields is checked as a scenario too (EventDeck's JSON Schema, names, the story) and "
        "the summary gains a 'scenario' part.",
    )
    check.add_argument("file", metavar="FILE", type=Path)
    check.add_argument(
        "--fetch-remote-refs",
        action="store_true",
        default=argparse.SUPPRESS,  # keeps a --fetch-remote-refs given before 'asyncapi'
        help="fetch the documents its $refs name on the web (https://, or plain http:// when a $ref says so), "
        "each with a timeout and all within the document's size cap; by default they are not fetched and the "
        "schemas that need them are listed as not available",
    )
    commands.add_parser(
        "scenarios",
        help="list the built-in scenarios",
        description="List the scenarios that come with EventDeck (name, title, what each shows) and how to run one.",
    )
    return parser


def serve_description() -> str:
    return (
        "Run the embedded broker and its gateways with no window. One log line per client that "
        "connects or leaves, a summary now and then; Ctrl+C or SIGTERM stops it cleanly. With --scenario, "
        "a scenario's simulated publishers, subscribers and responders run too, for clients and dashboards to watch."
    )


def _listen_address(text: str, default_port: int) -> ListenAddress | None:
    try:
        return parse_listen_address(text, default_port)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _checked_listen_address(text: str, default_port: int) -> str:
    _listen_address(text, default_port)  # refuse typos now; the window resolves the text against its settings
    return text


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _non_negative_float(text: str) -> float:
    value = _parsed(text, float, "number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = _parsed(text, int, "whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _parsed(text: str, kind: type[Number], name: str) -> Number:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a {name}: {text!r}") from None


def missing_xcb_packages() -> list[str]:
    """Debian package names of the xcb libraries Qt needs that this machine lacks (a bundle brings its own)."""
    import ctypes.util  # noqa: PLC0415 - ~2 ms, only for an X11 display

    bundled = Path(getattr(sys, "_MEIPASS", "")) if getattr(sys, "frozen", False) else None
    return [
        package
        for library, package in XCB_LIBRARIES.items()
        if ctypes.util.find_library(library) is None
        and not (bundled is not None and any(bundled.glob(f"**/lib{library}.so*")))
    ]


def choose_platform(args: argparse.Namespace) -> str | None:
    """Pick the Qt platform, or return an error message explaining why the window can't open."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return None
    if not os.environ.get("DISPLAY"):
        if args.screenshot is not None:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
            return None
        return (
            "eventdeck: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set). "
            "Start it from a desktop session, or try `xvfb-run eventdeck`."
        )
    missing = missing_xcb_packages()
    if missing:
        return (
            "eventdeck: Qt's X11 support needs system libraries this machine lacks. Install them with:\n"
            f"  sudo apt-get install {' '.join(missing)}"
        )
    return None


def import_before_qt() -> None:
    """Import the window's modules that need no Qt before any that does.

    From the import of its QtCore on, PySide6 reads the source of every module imported, looking for
    ``from __feature__ import`` (~0.15 ms a module): ~90 of the window's modules (numpy's, the core's
    connectors, gateways and scenario catalogue) then cost ~15 ms more before the first paint.
    tests/gui/test_lazy_start.py checks that none of them is imported after Qt.
    """
    import numpy.typing  # noqa: F401, PLC0415 - the rates plot's sample rings

    import eventdeck.core.asyncapi.errors  # noqa: PLC0415 - what a bad AsyncAPI document is refused with
    import eventdeck.core.broker.json_input  # noqa: PLC0415 - the composer's and gateways' one JSON rule
    import eventdeck.core.connectors.backend  # noqa: PLC0415 - the window's broker, embedded or connected
    import eventdeck.core.connectors.profiles  # noqa: PLC0415 - File > Connections…'s saved brokers
    import eventdeck.core.connectors.topic_reader  # noqa: PLC0415 - the channels' tree
    import eventdeck.core.gateways.controller  # noqa: PLC0415 - the window's MQTT and HTTP listeners
    import eventdeck.core.simulation.catalogue  # noqa: PLC0415 - the built-in scenarios' names
    import eventdeck.core.simulation.story  # noqa: PLC0415 - the story bar's steps
    import eventdeck.core.wording  # noqa: F401, PLC0415 - plurals


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        from eventdeck.core.cli.serve import ServeOptions, serve  # noqa: PLC0415 - only this command needs the gateways
        from eventdeck.core.cli.serve_settings import http_token, mqtt_credentials, mqtt_limits  # noqa: PLC0415
        from eventdeck.core.gateways.acl import AccessRules  # noqa: PLC0415
        from eventdeck.core.gateways.errors import AccessRulesError  # noqa: PLC0415
        from eventdeck.core.simulation.catalogue import load_scenario  # noqa: PLC0415
        from eventdeck.core.simulation.workspace import WorkspaceError  # noqa: PLC0415

        try:
            credentials = mqtt_credentials(args.mqtt_user, args.mqtt_password_file)
            limits = mqtt_limits(args.mqtt_limit)
            token = http_token(args.http_token, args.http_token_file)
            rules = AccessRules.load(args.acl) if args.acl is not None else None
            scenario = load_scenario(args.scenario) if args.scenario is not None else None
        except (ValueError, AccessRulesError, WorkspaceError) as exc:  # a bad scenario: its file, line and reason
            print(f"eventdeck serve: {exc}", file=sys.stderr)
            return 2
        options = ServeOptions(
            mqtt=args.mqtt,
            http=args.http,
            mqtt_credentials=credentials,
            mqtt_limits=limits,
            http_token=token,
            http_max_body=args.http_max_body,
            summary_every=args.summary_every,
            export_asyncapi=args.export_asyncapi,
            record=args.record,
            rules=rules,
            scenario=scenario,
            data=args.data,
            data_sync=args.data_sync,
        )
        return asyncio.run(serve(options))
    if args.command == "replay":
        from eventdeck.core.cli.replay import replay_into  # noqa: PLC0415 - headless, no Qt

        speed = None if args.fast else args.speed
        return asyncio.run(replay_into(args.file, args.into, speed=speed, reply_timeout=args.reply_timeout))
    if args.command == "asyncapi":
        from eventdeck.core.cli.asyncapi_check import asyncapi_check_main  # noqa: PLC0415 - headless, no Qt

        return asyncapi_check_main(args.file, fetch_remote_refs=args.fetch_remote_refs)
    if args.command == "scenarios":
        from eventdeck.core.cli.scenarios import scenarios_main  # noqa: PLC0415 - headless, no Qt

        return scenarios_main()
    problem = choose_platform(args)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    # What the start makes (modules, classes, widgets) lives as long as the window: the garbage collector
    # would walk it again and again as it grows, ~40 ms before the first paint. The window turns it back
    # on once it has painted (window_runner.first_paint); here it is only made sure of.
    gc.disable()
    # numpy (for the rates plot) starts OpenBLAS with a worker thread per core that spins at import: ~50 ms
    # of CPU taken from the first paint, for linear algebra the window never does. A user's own setting stands.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        import_before_qt()  # numpy among them: after OPENBLAS_NUM_THREADS is set
        from eventdeck.gui.controllers.window_runner import run_window  # noqa: PLC0415 - Qt loads only for a window

        return run_window(args)
    finally:
        gc.enable()


if __name__ == "__main__":
    sys.exit(main())
