"""Open an HTML report in headless Chromium and check that it renders.

Chromium loads the page from the file system with networking disabled; the page's own script
records how many of its images decoded (``<body data-images-loaded="k/n">``). The check passes
when the page has at least one image and every image decoded. With ``--screenshot`` it also
saves a PNG of the page as a browser shows it.

    python scripts/check_html.py report.html [--screenshot page.png]

Exit status: 0 rendered, 1 did not render, 2 no Chromium found.
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
