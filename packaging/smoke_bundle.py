#!/usr/bin/env python3
"""Smoke-run a built bundle: the frozen binary itself, offscreen, with a throw-away home folder.

    packaging/smoke-bundle [BUNDLE] [--tarball FILE] [--build-seconds S]

Checks ``--version``, a ``--demo --screenshot`` that is not blank, ``serve --help``,
``asyncapi check`` on the packaged demo document, that each connector loads (a replay into a
port nobody listens on must fail with "nothing listens", not an import error), and that every
file of resources/ came along. Prints one JSON line: sizes, cold-start timings, checks passed.
Exit code 0 when all pass, 1 with the failed check's reason otherwise.

Needs a Python with PySide6 to read the screenshot: build-bundle runs it with the build venv's
(``build/bundle-venv/bin/python packaging/smoke-bundle``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from build_bundle import project_version  # beside this file

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
MIN_COLOURS = 64  # a painted window has hundreds (text, icons, anti-aliasing); a blank or black one a handful
TIMING_RUNS = 3
# The demo document: where it is today, and where the scenarios work moves it (the first that exists wins).
DEMO_DOCUMENTS = ("resources/scenarios/household.yaml", "resources/workspaces/demo.yaml")
CONNECTOR_KINDS = ("mqtt", "amqp", "nats", "redis")
# Signs in a run's output that the frozen app missed a module, a file or its metadata...
MISSING = ("Traceback", "No module named", "PackageNotFoundError")
# ... or that something else went wrong (the app logs what it catches and carries on).
FAILURE_SIGNS = (*MISSING, " ERROR ", " CRITICAL ")


class SmokeError(Exception):
    """A smoke check failed; the message names the check and why."""


def distinct_colours(png: Path) -> int:
    """How many different colours the image at ``png`` has."""
    from PySide6.QtGui import QImage  # noqa: PLC0415 - only this check needs Qt; main() says which Python has it

    image = QImage(str(png))
    if image.isNull():
        raise SmokeError(f"screenshot: {png} is missing or not an image")
    pixels = image.convertToFormat(QImage.Format.Format_RGB32).constBits()
    return len(set(memoryview(pixels).cast("I")))


def check_screenshot(png: Path) -> int:
    """The screenshot's colour count; ``SmokeError`` if it is blank (MIN_COLOURS or fewer)."""
    colours = distinct_colours(png)
    if colours <= MIN_COLOURS:
        raise SmokeError(f"screenshot: {png} looks blank ({colours} colours, a painted window has over {MIN_COLOURS})")
    return colours


def demo_document(root: Path = ROOT) -> str:
    """The packaged demo document's path inside the resources package tree, whichever exists in ``root``."""
    for relative in DEMO_DOCUMENTS:
        if (root / relative).is_file():
            return relative
    raise SmokeError(f"asyncapi check: none of {', '.join(DEMO_DOCUMENTS)} exists in {root}")


def missing_resources(source: Path, packaged: Path) -> list[str]:
    """Files of the source resources/ folder (code and caches aside) that the bundle's copy lacks."""
    wanted = (
        path.relative_to(source)
        for path in source.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    )
    return sorted(str(relative) for relative in wanted if not (packaged / relative).is_file())


def folder_bytes(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


class Bundle:
    """Runs the bundle's binary in a clean environment: offscreen, no display, a temporary home."""

    def __init__(self, folder: Path, home: Path) -> None:
        self.folder = folder
        self.binary = folder / ("eventdeck.exe" if sys.platform == "win32" else "eventdeck")
        if not self.binary.is_file():
            raise SmokeError(f"no binary at {self.binary}: build it with packaging/build-bundle")
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DISPLAY", "WAYLAND_DISPLAY", "PYTHONPATH", "PYTHONHOME", "QT_PLUGIN_PATH"}
        }
        self.env["QT_QPA_PLATFORM"] = "offscreen"
        self.env["HOME"] = str(home)
        for variable, folder_name in (
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_CACHE_HOME", "cache"),
            ("XDG_STATE_HOME", "state"),
            ("APPDATA", "appdata"),
            ("LOCALAPPDATA", "localappdata"),
        ):
            self.env[variable] = str(home / folder_name)

    def run(
        self, check: str, *args: str, expect_code: int = 0, signs: tuple[str, ...] = FAILURE_SIGNS
    ) -> tuple[subprocess.CompletedProcess[str], float]:
        """Run the binary with ``args``: its result and wall time, or ``SmokeError`` naming ``check``."""
        started = time.perf_counter()
        try:
            result = subprocess.run(
                [str(self.binary), *args], env=self.env, capture_output=True, text=True, timeout=90, check=False
            )
        except subprocess.TimeoutExpired:
            raise SmokeError(f"{check}: eventdeck {' '.join(args)} did not finish in 90 s") from None
        elapsed = time.perf_counter() - started
        output = result.stdout + result.stderr
        sign = next((sign for sign in signs if sign in output), None)
        if result.returncode != expect_code or sign is not None:
            why = f"exit code {result.returncode}, expected {expect_code}" if sign is None else f"{sign.strip()!r}"
            raise SmokeError(f"{check}: eventdeck {' '.join(args)}: {why}\n{output.strip()}")
        return result, elapsed


def check_version(bundle: Bundle, version: str) -> float:
    result, elapsed = bundle.run("--version", "--version")
    if result.stdout.strip() != f"EventDeck {version}":
        raise SmokeError(f"--version: printed {result.stdout.strip()!r}, expected 'EventDeck {version}'")
    return elapsed


def screenshot(bundle: Bundle, png: Path, delay: float) -> float:
    # Gateways on free ports: the MQTT and HTTP defaults may be taken on the machine that builds.
    args = ["--demo", "--mqtt", "127.0.0.1:0", "--http", "127.0.0.1:0", "--screenshot", str(png)]
    _, elapsed = bundle.run("screenshot", *args, "--screenshot-delay", f"{delay:g}")
    return elapsed


def check_serve_help(bundle: Bundle) -> None:
    result, _ = bundle.run("serve --help", "serve", "--help")
    if not result.stdout.startswith("usage: eventdeck serve"):
        raise SmokeError(f"serve --help: unexpected output {result.stdout[:200]!r}")


def check_asyncapi(bundle: Bundle, root: Path) -> str:
    relative = demo_document(root)
    packaged = bundle.folder / "_internal" / "eventdeck" / Path(relative)
    result, _ = bundle.run("asyncapi check", "asyncapi", "check", str(packaged))
    try:
        channels = json.loads(result.stdout)["channels"]["count"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SmokeError(f"asyncapi check: not the JSON summary ({exc}): {result.stdout[:200]!r}") from None
    if not channels:
        raise SmokeError(f"asyncapi check: {relative} has no channels")
    return relative


def check_connectors(bundle: Bundle, scratch: Path) -> None:
    """Each connector's client library loads: a replay into a closed port fails the way a real one does."""
    recording = scratch / "one.jsonl"
    recording.write_text('{"channel": "smoke/check", "payload": "hello"}\n', encoding="utf-8")
    port = _closed_port()
    credentials = {"amqp": "guest:guest@"}
    for kind in CONNECTOR_KINDS:
        url = f"{kind}://{credentials.get(kind, '')}127.0.0.1:{port}"
        check = f"{kind} connector"
        # aiormq logs an ERROR line of its own for a refused connection: only import trouble counts here.
        result, _ = bundle.run(check, "replay", str(recording), "--into", url, "--fast", expect_code=1, signs=MISSING)
        if "nothing listens on" not in result.stderr:
            raise SmokeError(f"{check}: expected 'nothing listens on 127.0.0.1:{port}', got:\n{result.stderr}")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def check_resources(bundle: Bundle, root: Path) -> None:
    missing = missing_resources(root / "resources", bundle.folder / "_internal" / "eventdeck" / "resources")
    if missing:
        raise SmokeError(
            f"resources: not in the bundle: {', '.join(missing)} "
            "(is each listed in [tool.setuptools.package-data] in pyproject.toml?)"
        )


def median_seconds(measure: Callable[[], float]) -> float:
    return round(statistics.median(measure() for _ in range(TIMING_RUNS)), 3)


@contextmanager
def scratch_folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="eventdeck-smoke-") as folder:
        yield Path(folder)


def smoke(folder: Path, tarball: Path | None, build_seconds: float | None, root: Path = ROOT) -> dict[str, object]:
    """Run every check against the bundle in ``folder``; the JSON report, or ``SmokeError``."""
    version = project_version(root)
    with scratch_folder() as scratch:
        bundle = Bundle(folder, scratch / "home")
        check_resources(bundle, root)
        version_s = median_seconds(lambda: check_version(bundle, version))
        png = scratch / "demo.png"
        screenshot(bundle, png, delay=2)
        colours = check_screenshot(png)
        screenshot_s = median_seconds(lambda: screenshot(bundle, scratch / "first.png", delay=0))
        check_serve_help(bundle)
        document = check_asyncapi(bundle, root)
        check_connectors(bundle, scratch)
    report: dict[str, object] = {
        "bundle": str(folder),
        "version": version,
        "folder_mb": round(folder_bytes(folder) / 1e6, 1),
        "tar_gz_mb": round(tarball.stat().st_size / 1e6, 1) if tarball is not None else None,
        "build_s": build_seconds,
        "version_wall_s": version_s,
        "screenshot_0s_wall_s": screenshot_s,
        "screenshot_colours": colours,
        "asyncapi_checked": document,
        "checks": ["resources", "--version", "screenshot", "serve --help", "asyncapi check", "connectors"],
    }
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="smoke-bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", nargs="?", type=Path, default=ROOT / "dist" / "EventDeck", help="the bundle folder")
    parser.add_argument("--tarball", type=Path, help="the bundle's .tar.gz, for its size")
    parser.add_argument("--build-seconds", type=float, help="the build's duration, for the report")
    args = parser.parse_args(argv)
    try:
        import PySide6  # noqa: F401, PLC0415 - fail before running anything
    except ImportError:
        print(
            f"smoke-bundle: {sys.executable} has no PySide6 to read the screenshot with; "
            "run it with the build venv's Python: build/bundle-venv/bin/python packaging/smoke-bundle",
            file=sys.stderr,
        )
        return 2
    try:
        report = smoke(args.bundle.resolve(), args.tarball, args.build_seconds)
    except SmokeError as exc:
        print(f"smoke-bundle: FAILED {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
