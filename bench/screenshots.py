"""Screenshots of every page at phone, laptop and projector widths: docs/screenshots/.

    python -m bench.screenshots            # starts the app on a free port, needs chromium

Full-page PNGs named ``<page>_<width>.png`` (390 x 844, 1280 x 900, 1920 x 1080), taken after
Streamlit reports the script finished; look at them after a layout change.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SIZES = {390: 844, 1280: 900, 1920: 1080}
PAGES = ["", "story", "reproduction", "compare", "survival", "cox", "calculator", "validation",
         "your_data", "glossary", "about"]  # fmt: skip
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(page) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning'
                && !document.querySelector('[data-testid="stSkeleton"]');
        }""",
        timeout=60_000,
    )
    page.wait_for_timeout(1500)  # Vega charts draw after the script


def main() -> None:
    from playwright.sync_api import sync_playwright

    port = _port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(4)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for width, height in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                for path in PAGES:
                    page.goto(f"http://127.0.0.1:{port}/{path}")
                    _wait(page)
                    name = f"{path or 'overview'}_{width}.png"
                    page.screenshot(path=str(OUT / name), full_page=True)
                    print(name)
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
