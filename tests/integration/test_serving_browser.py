"""The web chat page in headless Chromium: a message goes out, the reply streams in, items show as cards.

Needs Debian's `chromium` and `chromium-driver` and the `selenium` package; skips with the reason
when one is missing (nothing is downloaded at run time). The screenshot goes to the test's temp
folder, and also to $INTEREC_SCREENSHOT_DIR when that is set.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.integration.serving_support import ServerThread, StreamingScriptedLLM, make_app, shared_deps

ANIMATION_PLAN = {"like": ["Toy Story"], "steps": [
    {"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Animation"},
                                 {"col": "year", "op": ">", "val": "2000"}]},
    {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}


def _browser() -> tuple[str, str]:
    chrome = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not chrome or not driver:
        pytest.skip("headless browser test needs Debian packages chromium and chromium-driver (apt-get install chromium chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("headless browser test needs the selenium package (pip install -e '.[serve]')")
    return chrome, driver


@pytest.fixture
def browser(tmp_path: Path):  # type: ignore[no-untyped-def]
    chrome, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for drivers online
    opts = Options()
    opts.binary_location = chrome
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions", "--disable-sync", "--no-first-run",
                 "--disable-component-update", "--window-size=1100,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def test_web_chat_streams_reply_and_cards(browser, ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    llm = StreamingScriptedLLM(plans=[ANIMATION_PLAN], delay=0.08)
    app = make_app(shared_deps(ml_domain_indexed, tmp_path), llm, api_keys={"web-key-1": "webuser"})
    with ServerThread(app) as server:
        browser.get(server.url + "/")
        wait = WebDriverWait(browser, 90)
        wait.until(lambda d: "movielens" in d.find_element(By.ID, "domain").text)
        key = browser.find_element(By.ID, "key")
        assert key.is_displayed()  # the server needs a key: the page asks for it
        key.send_keys("web-key-1")
        browser.execute_script("document.getElementById('key').dispatchEvent(new Event('change'))")
        browser.find_element(By.ID, "msg").send_keys("I loved Toy Story, some animation from after 2000 please")
        browser.find_element(By.ID, "send").click()

        # while tokens arrive the reply grows before the turn is done
        seen_partial = False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            turn = browser.find_elements(By.CSS_SELECTOR, ".turn")
            if turn and "done" in (turn[-1].get_attribute("class") or ""):
                break
            reply = browser.find_elements(By.CSS_SELECTOR, ".turn .reply")
            seen_partial = seen_partial or bool(reply and reply[-1].text.strip())
            time.sleep(0.05)
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".turn.done")))
        assert seen_partial, "the reply never showed while streaming"
        assert not browser.find_elements(By.CSS_SELECTOR, ".turn.failed")

        cards = browser.find_elements(By.CSS_SELECTOR, ".cards .card")
        titles = [c.find_element(By.TAG_NAME, "h3").text for c in cards]
        assert len(cards) == 5
        reply = browser.find_element(By.CSS_SELECTOR, ".turn .reply").text
        assert all(t.rsplit(" (", 1)[0] in reply for t in titles)
        assert all("Animation" in c.text for c in cards)
        progress = [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".progress li")]
        assert "planning" in progress and any(p.startswith("running match") for p in progress)  # the filter runs as a soft match
        assert browser.execute_script("return localStorage.getItem('interec.thread')")

        shot = tmp_path / "web_chat.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        if os.environ.get("INTEREC_SCREENSHOT_DIR"):
            out = Path(os.environ["INTEREC_SCREENSHOT_DIR"])
            out.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, out / shot.name)
