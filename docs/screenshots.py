"""Screenshots of the built site, to look at it as a reader would (not run in CI).

    .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html
    python docs/screenshots.py            # needs Debian's chromium (apt-get install chromium)

renders the home page, one tutorial and one model page in headless Chromium and writes
PNG files to docs/_build/screenshots/ (generated output, not committed). Further pages
can be named on the command line, relative to docs/_build/html.
"""

import shutil
import subprocess
import sys
from pathlib import Path

HTML = Path(__file__).resolve().parent / "_build" / "html"
OUT = HTML.parent / "screenshots"
PAGES = ["index.html", "tutorials/main_job.html", "models/neurons.html"]
WINDOW = "1280,2400"  # wide enough for the sidebar and table of contents, tall enough for a figure


def screenshot(page: str, browser: str) -> Path:
    target = OUT / (page.removesuffix(".html").replace("/", "_") + ".png")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={WINDOW}", f"--screenshot={target}", (HTML / page).as_uri()],
                   check=True, capture_output=True, timeout=120)
    return target


def main(pages: list[str]) -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium not found: apt-get install chromium", file=sys.stderr)
        return 2
    missing = [page for page in pages if not (HTML / page).exists()]
    if missing:
        print(f"not built: {', '.join(missing)} (run sphinx-build first)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for page in pages:
        print(screenshot(page, browser))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or PAGES))
