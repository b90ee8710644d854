"""A live server in a thread and Debian's chromium driven by selenium, for the page's browser tests and its
screenshots. Nothing is downloaded: the browser is /usr/bin/chromium with /usr/bin/chromedriver (Debian's
chromium and chromium-driver packages, which .ci/run installs).

    python -m tests.serve.browser OUT.png NAME=RUN [NAME=RUN ...] [--model NAME] [--type TEXT]

serves the runs and writes a screenshot of the page (of one model's tab, after typing TEXT into it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def missing_browser() -> str | None:
    """Why no browser test can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"no {path}: install Debian's browser with `apt-get install chromium chromium-driver` (.ci/run does)"
    return None


class LiveServer:
    """uvicorn serving `app` on a free loopback port in a daemon thread."""

    def __init__(self, app):
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


class Browser:
    """Headless chromium with a fresh profile, removed on close."""

    def __init__(self, width: int = 1200, height: int = 900):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in [*FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]:
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)

    def wait(self, condition, timeout: float = 60):
        """condition(driver) -> a truthy value, waited for (an element replaced while it was read is read again)."""
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        ignored = (NoSuchElementException, StaleElementReferenceException)
        return WebDriverWait(self.driver, timeout, ignored_exceptions=ignored).until(condition)

    def css(self, selector: str, within=None):
        from selenium.webdriver.common.by import By

        return (within or self.driver).find_elements(By.CSS_SELECTOR, selector)

    def panel(self, name: str):
        (panel,) = self.css(f'section[data-model="{name}"]')
        return panel

    def show(self, url: str, name: str):
        """Open the page at `url` afresh on model `name`'s tab; its panel."""
        self.driver.get("about:blank")  # else a page already open would only change its #fragment
        self.driver.get(f"{url}/#{name}")
        self.wait(lambda d: self.css(f'section[data-model="{name}"]') and self.panel(name).is_displayed())
        return self.panel(name)

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    import rnn_nlp
    from rnn_nlp.serve.app import create_app
    from rnn_nlp.serve.server import run_names

    p = argparse.ArgumentParser(description="a screenshot of the served page")
    p.add_argument("out")
    p.add_argument("runs", nargs="+")
    p.add_argument("--model", help="the tab to show (default: the first)")
    p.add_argument("--type", help="text to type into the tab's first text box, then submit (or wait, for predictive typing)")
    p.add_argument("--page", action="store_true", help="the model's own page (/model/NAME) instead")
    p.add_argument("--height", type=int, default=900)
    args = p.parse_args(argv)
    models = {name: rnn_nlp.load(run, "cpu") for name, run in run_names(args.runs).items()}
    name = args.model or next(iter(models))
    app = create_app(models)
    for served in app.state.served.values():  # as `rnn-nlp serve` does before it listens
        served.warm_up()
    with LiveServer(app) as server:
        browser = Browser(height=args.height)
        try:
            if args.page:
                browser.driver.get(f"{server.url}/model/{name}")
                browser.wait(lambda d: browser.css(".chart svg path"))
            else:
                panel = browser.show(server.url, name)
                browser.wait(lambda d: browser.css(".output > *", panel))
                if args.type:
                    box = browser.css(".typing-input", panel) or browser.css("textarea, input[type=text]", panel)
                    box[0].clear()
                    for ch in args.type:  # as a person types: each keystroke asks for suggestions
                        box[0].send_keys(ch)
                        time.sleep(0.15)
                    time.sleep(1.0)
                    if not browser.css(".typing-input", panel):
                        browser.css("button.run", panel)[0].click()
                    time.sleep(1.5)
            time.sleep(0.5)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            browser.driver.save_screenshot(args.out)
        finally:
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
