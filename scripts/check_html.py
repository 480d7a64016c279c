"""Open an HTML report in headless Chromium and check that it renders.

Chromium loads the page from the file system with networking disabled; the page's own script
records how many of its images decoded (``<body data-images-loaded="k/n">``). The check passes
when the page has at least one image and every image decoded. With ``--screenshot`` it also
saves a PNG of the page as a browser shows it.

With ``--player`` it also drives the page's players (the training replay of
``ganbench.report.player``) through the playwright package, in the same Chromium (no browser is
downloaded): every player must decode its frames (``<body data-players-loaded="n/n">``); moving
a player's slider (an ``input`` event) must change its frame, step label and canvas pixels; and
its play button must advance the frame. Any request that leaves the page (not ``file:`` or
``data:``) fails the check.

    python scripts/check_html.py report.html [--screenshot page.png] [--player]

Exit status: 0 rendered, 1 did not render, 2 no Chromium found (or, with ``--player``, no
playwright package).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
# Headless, no sandbox (CI runs as root), and nothing that reaches for the network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("--screenshot", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument(
        "--player", action="store_true", help="also drive the page's players (needs playwright)"
    )
    args = parser.parse_args()
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        print(f"no Chromium found (looked for {', '.join(BROWSERS)}); on Debian: "
              "apt-get install chromium", file=sys.stderr)  # fmt: skip
        return 2
    url = args.page.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        flags = [browser, *FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run(
            [*flags, "--virtual-time-budget=5000", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        match = re.search(r'<body[^>]*data-images-loaded="(\d+)/(\d+)"', dom.stdout)
        if not match:
            print(f"{args.page}: the page's load script did not run (Chromium exit "
                  f"{dom.returncode}): {dom.stderr[-2000:]}", file=sys.stderr)  # fmt: skip
            return 1
        loaded, total = int(match[1]), int(match[2])
        print(f"{args.page}: {loaded} of {total} images rendered in {Path(browser).name}")
        if total == 0 or loaded != total:
            return 1
        if args.screenshot is not None:
            shot = subprocess.run(
                [
                    *flags,
                    f"--screenshot={args.screenshot.resolve()}",
                    f"--window-size={args.width},{args.height}",
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if shot.returncode != 0 or not args.screenshot.exists():
                print(f"screenshot failed: {shot.stderr[-2000:]}", file=sys.stderr)
                return 1
            print(f"screenshot: {args.screenshot}")
    return check_players(args.page, browser) if args.player else 0


_STATE = """el => ({
  ready: el.dataset.ready, frame: el.dataset.frame, step: el.dataset.step,
  label: el.querySelector(".gb-step").textContent,
  last: Number(el.querySelector(".gb-slider").max),
  pixels: Array.from(el.querySelectorAll("canvas"), c => c.toDataURL()).join("|"),
})"""
_SLIDE = """(el, i) => {
  const slider = el.querySelector(".gb-slider");
  slider.value = String(i);
  slider.dispatchEvent(new Event("input", {bubbles: true}));
}"""


def check_players(page: Path, browser: str, timeout_ms: int = 60_000) -> int:
    """Drive every player of ``page`` in headless Chromium (see the module docstring); 0 when
    all pass, 1 otherwise, 2 without the playwright package."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        print("--player needs the playwright package (pip install playwright; it drives the "
              "Chromium found here, no browser download needed)", file=sys.stderr)  # fmt: skip
        return 2
    offsite: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            offsite.append(r.request.url)
            r.abort()

    problems: list[str] = []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=browser, headless=True, args=[f for f in FLAGS if f != "--headless"]
        )
        try:
            tab = chromium.new_page()
            tab.route("**/*", route)
            tab.goto(page.resolve().as_uri())
            sections = tab.query_selector_all(".gb-player")
            if not sections:
                print(f"{page}: no player in the page", file=sys.stderr)
                return 1
            tab.wait_for_function(
                "document.body.hasAttribute('data-players-loaded')", timeout=timeout_ms
            )
            loaded = tab.evaluate("document.body.getAttribute('data-players-loaded')")
            print(f"{page}: {loaded} players decoded their frames")
            if loaded != f"{len(sections)}/{len(sections)}":
                problems.append(f"players decoded: {loaded}")
            driven = 0
            for section in sections:
                name = section.get_attribute("id")
                found, moved = _drive(tab, section, timeout_ms)
                problems += [f"{name}: {p}" for p in found]
                driven += moved
                if moved and not found:
                    print(f"{name}: slider and play change the frame")
            if not driven:
                problems.append("no player has two frames to step between")
        except Error as error:
            problems.append(f"Chromium: {error}")
        finally:
            chromium.close()
    problems += [f"request left the page: {url}" for url in offsite]
    for problem in problems:
        print(f"{page}: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _drive(tab, section, timeout_ms: int) -> tuple[list[str], bool]:
    """Move one player's slider and press play; the problems found, and whether it moved."""
    before = section.evaluate(_STATE)
    if before["ready"] != "1":
        return [f"frames did not decode (data-ready={before['ready']!r})"], False
    if before["last"] < 1:
        return [], False  # one evaluation: nothing to step through
    target = 0 if before["frame"] != "0" else before["last"]
    section.evaluate(_SLIDE, target)
    after = section.evaluate(_STATE)
    watched = {"step": "data-step", "label": "the step label", "pixels": "the canvas"}
    problems = [
        f"after the slider moved to {target}, {what} did not change ({before[key][:80]!r})"
        for key, what in watched.items()
        if after[key] == before[key]
    ]
    if after["frame"] != str(target):
        problems.append(f"the slider moved to {target} but data-frame is {after['frame']!r}")
    section.evaluate(_SLIDE, 0)
    section.query_selector(".gb-play").click()
    try:
        tab.wait_for_function("el => el.dataset.frame !== '0'", arg=section, timeout=timeout_ms)
    except Exception:  # playwright's TimeoutError
        problems.append("play did not advance the frame")
    section.query_selector(".gb-play").click()  # pause
    return problems, True


if __name__ == "__main__":
    sys.exit(main())
