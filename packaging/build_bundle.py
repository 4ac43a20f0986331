#!/usr/bin/env python3
"""Build the one-folder desktop bundle dist/EventDeck/ and its tarball, then smoke-run it.

    packaging/build-bundle [--venv PATH] [--no-smoke]

Runs with any Python 3.11+ (standard library only). Steps:

1. a build venv (default build/bundle-venv, created when missing) gets this checkout installed
   with its ``bundle`` extra, as a regular package: PyInstaller then reads real files and the
   ``eventdeck`` metadata, and no developer's editable .venv is touched;
2. that venv's PyInstaller runs packaging/eventdeck.spec into dist/EventDeck/;
3. the bundle gets share/ (desktop entry, icons, AppStream metadata) and install.sh, and is
   packed as dist/EventDeck-<version>-<os>-<arch>.tar.gz;
4. packaging/smoke-bundle runs the built binary (not the venv) and prints one JSON line.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
DIST = ROOT / "dist"
BUNDLE = DIST / "EventDeck"
DEFAULT_VENV = ROOT / "build" / "bundle-venv"

# (file in packaging/, where it goes in the bundle): the freedesktop.org layout install.sh copies from.
DESKTOP_FILES = (
    ("eventdeck.desktop", "share/applications/eventdeck.desktop"),
    ("eventdeck.svg", "share/icons/hicolor/scalable/apps/eventdeck.svg"),
    ("eventdeck.png", "share/icons/hicolor/256x256/apps/eventdeck.png"),
    ("io.eventdeck.EventDeck.metainfo.xml", "share/metainfo/io.eventdeck.EventDeck.metainfo.xml"),
)


class BuildError(Exception):
    """A build step failed; the message says which and why."""


def project_version(root: Path = ROOT) -> str:
    version: str = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return version


def tarball_path(version: str) -> Path:
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    return DIST / f"EventDeck-{version}-{system}-{platform.machine().lower()}.tar.gz"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def prepare_venv(venv: Path) -> Path:
    """The build venv's Python, with this checkout (not editable) and PyInstaller installed in it."""
    python = venv_python(venv)
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)], "creating the build venv")
    # pip rebuilds a project given by its folder each time, so the bundle always has this checkout's code.
    run([str(python), "-m", "pip", "install", "--quiet", f"{ROOT}[bundle]"], f"installing EventDeck into {venv}")
    return python


def run_pyinstaller(python: Path) -> None:
    command = [str(python), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    command += ["--distpath", str(DIST), "--workpath", str(ROOT / "build" / "pyinstaller")]
    # Not from the checkout's root: its eventdeck.egg-info (left by pip) would be the metadata collected.
    (ROOT / "build").mkdir(exist_ok=True)
    run([*command, str(PACKAGING / "eventdeck.spec")], "PyInstaller", cwd=ROOT / "build")


def strip_python_debug_info(bundle: Path) -> None:
    """Drop the debug sections some Python builds (pyenv's) leave in libpython and lib-dynload (~20 MB).

    Only the interpreter's own files: wheels' libraries are already stripped, and rewriting those
    that auditwheel patched can break them.
    """
    strip = shutil.which("strip")
    if strip is None or not sys.platform.startswith("linux"):
        return
    runtime = [*bundle.glob("_internal/libpython3*.so*"), *bundle.glob("_internal/python3*/lib-dynload/*.so")]
    files = [str(path) for path in runtime if path.is_file() and not path.is_symlink()]
    if files:
        run([strip, "--strip-debug", *files], "stripping debug info from the Python runtime")


def add_desktop_files(bundle: Path, packaging: Path = PACKAGING) -> None:
    """Put the desktop entry, icons, AppStream metadata and install.sh into the bundle folder."""
    for name, destination in DESKTOP_FILES:
        target = bundle / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(packaging / name, target)
    installer = bundle / "install.sh"
    shutil.copyfile(packaging / "install.sh", installer)
    installer.chmod(0o755)


def make_tarball(bundle: Path, path: Path) -> Path:
    """``path`` holding the bundle folder as EventDeck/ (symlinks kept as symlinks)."""
    with tarfile.open(path, "w:gz", compresslevel=6) as archive:
        archive.add(bundle, arcname=bundle.name)
    return path


def run(command: list[str], step: str, cwd: Path | None = None) -> None:
    print(f"build-bundle: {step}", flush=True)
    try:
        result = subprocess.run(command, cwd=cwd, check=False)
    except OSError as exc:
        raise BuildError(f"{step}: cannot run {command[0]}: {exc}") from None
    if result.returncode != 0:
        raise BuildError(f"{step} failed (exit code {result.returncode}): {' '.join(command)}")


def build(venv: Path, smoke: bool) -> None:
    started = time.monotonic()
    python = prepare_venv(venv)
    run_pyinstaller(python)
    strip_python_debug_info(BUNDLE)
    add_desktop_files(BUNDLE)
    tarball = make_tarball(BUNDLE, tarball_path(project_version()))
    built_in = time.monotonic() - started
    print(f"build-bundle: {BUNDLE.relative_to(ROOT)} and {tarball.relative_to(ROOT)} built in {built_in:.0f} s")
    if smoke:
        command = [str(python), str(PACKAGING / "smoke_bundle.py"), str(BUNDLE), "--tarball", str(tarball)]
        run([*command, "--build-seconds", f"{built_in:.1f}"], "smoke-running the bundle")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build-bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--venv",
        type=Path,
        default=DEFAULT_VENV,
        help="the build venv, created when missing; EventDeck is installed into it, not editable "
        "(default: build/bundle-venv; do not give it your development .venv)",
    )
    parser.add_argument("--no-smoke", action="store_true", help="build only; do not run packaging/smoke-bundle")
    args = parser.parse_args(argv)
    try:
        build(args.venv.resolve(), smoke=not args.no_smoke)
    except BuildError as exc:
        print(f"build-bundle: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
