#!/usr/bin/env python3
"""Make the README's animated capture from the app itself: the presenter, a story step, frame by frame.

    .venv/bin/python packaging/capture_gif.py packaging/presenter.gif [--scenario household] [--steps 2]

It opens the window offscreen (no display needed) at 1920x1080, starts the scenario, presses Next
``--steps`` times, grabs the window every ``--interval`` ms for ``--seconds`` and writes a GIF scaled to
``--width``. The frames are the app's own pixels (``QWidget.grab``), nothing drawn afterwards. Writing the
GIF needs Pillow (``pip install pillow``) or ImageMagick's ``convert``; the PNG frames are kept otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from eventdeck.gui.app import build_parser
from eventdeck.gui.controllers import window_runner
from eventdeck.gui.main_window import MainWindow


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="the GIF to write")
    parser.add_argument("--scenario", default="household", help="a built-in scenario or a file (default household)")
    parser.add_argument("--steps", type=int, default=2, help="story steps to take before capturing (default 2)")
    parser.add_argument("--seconds", type=float, default=6.0, help="how long to capture (default 6)")
    parser.add_argument("--interval", type=int, default=100, help="milliseconds between frames (default 100)")
    parser.add_argument("--width", type=int, default=960, help="width of the GIF in pixels (default 960)")
    return parser.parse_args()


async def running_window(app: QApplication, seconds: float = 10.0) -> MainWindow:
    """The main window once its scenario runs (it starts after the window's first paint)."""
    for _ in range(int(seconds * 10)):
        await asyncio.sleep(0.1)
        window = next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)
        if window is not None and window.scenarios.scenario is not None:
            return window
    raise RuntimeError(f"no scenario ran in the window within {seconds:g} s")


async def capture(app: QApplication, opts: argparse.Namespace, frames: Path) -> int:
    window = await running_window(app)
    window.resize(1920, 1080)
    window.present()
    for _ in range(opts.steps):
        step = window.scenarios.next()
        if step is not None:
            await step
        await asyncio.sleep(0.8)
    count = int(opts.seconds * 1000 / opts.interval)
    for number in range(count):
        picture = window.grab().scaledToWidth(opts.width, Qt.TransformationMode.SmoothTransformation)
        picture.save(str(frames / f"frame-{number:04d}.png"), "PNG")
        await asyncio.sleep(opts.interval / 1000)
    window.close()
    return count


async def run(app: QApplication, opts: argparse.Namespace, frames: Path) -> int:
    settings = QSettings(str(frames / "settings.ini"), QSettings.Format.IniFormat)  # never the user's own
    args = build_parser().parse_args(["--scenario", opts.scenario, "--mqtt", "off", "--http", "off"])
    window_task = asyncio.ensure_future(window_runner.open_window(args, settings))
    count = await capture(app, opts, frames)
    await window_task
    return count


def write_gif(frames: list[Path], output: Path, interval: int) -> bool:
    try:
        from PIL import Image  # noqa: PLC0415 - optional: only this tool needs it
    except ImportError:
        convert = shutil.which("convert")
        if convert is None:
            return False
        delay = str(max(1, interval // 10))  # ImageMagick counts hundredths of a second
        subprocess.run([convert, "-delay", delay, "-loop", "0", *map(str, frames), "-layers", "Optimize", str(output)],
                       check=True)  # fmt: skip
        return True
    images = [Image.open(frame).convert("P", palette=Image.Palette.ADAPTIVE) for frame in frames]
    images[0].save(output, save_all=True, append_images=images[1:], duration=interval, loop=0, optimize=True)
    return True


def main() -> int:
    opts = options()
    frames = Path(tempfile.mkdtemp(prefix="eventdeck-gif-"))
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        count = runner.run(run(app, opts, frames))
    pictures = sorted(frames.glob("frame-*.png"))
    opts.output.parent.mkdir(parents=True, exist_ok=True)
    if not write_gif(pictures, opts.output, opts.interval):
        print(f"{count} frames are in {frames}: install Pillow or ImageMagick to join them into a GIF", file=sys.stderr)
        return 1
    shutil.rmtree(frames)
    print(f"{opts.output}: {count} frames, {opts.output.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
