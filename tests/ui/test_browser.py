"""The pages in a real browser (Debian's Chromium driven by Selenium) against a real ``vrewards serve``.

Chromium is started with every non-loopback address unreachable (a dead proxy and a resolver that finds no
host), and each test checks that the page loaded nothing from anywhere but the service. Set
``VREWARDS_SCREENSHOTS=DIR`` to keep screenshots of the pages (the README's come from there).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.common import serve

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
TOKEN = "browser-token-0123456789abcdef"
SHOTS = os.environ.get("VREWARDS_SCREENSHOTS")

PROMPT = "What is two plus two? Think step by step and answer in English."
COMPLETION = (
    "<think>\nWe add two and two, which gives four. Then we check the sum once more.\n"
    "Ensuite nous vérifions encore une fois le résultat final.\n</think>\n"
    "The answer is \\boxed{4}."
)
FILE_ITEMS = [
    {"id": "right", "prompt": PROMPT, "completion": COMPLETION, "gold": "4"},
    {
        "id": "wrong",
        "prompt": PROMPT,
        "completion": "<think>\nTwo and two.\n</think>\n\\boxed{5}",
        "gold": "4",
    },
    {"id": "silent", "prompt": PROMPT, "completion": "<think>\nTwo and two.\n</think>\nNo idea.", "gold": 4},
]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """A real ``vrewards serve`` with a token, on a free loopback port."""
    with serve(workers=1, env={"VREWARDS_API_TOKEN": TOKEN, "VREWARDS_LOG_LEVEL": "warning"}) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("VREWARDS_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium and chromedriver are required (apt-get install chromium chromium-driver)")
        pytest.skip("no chromium/chromedriver on this machine (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--window-size=1400,1900" if SHOTS else "--window-size=1400,1000",
        # only loopback is reachable: other hosts resolve to nothing and any proxied request dies
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


# ------------------------------------------------------------------------------------------- helpers
def wait_for(driver: object, condition: object, timeout: float = 60) -> object:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)  # type: ignore[arg-type]


def css(driver: object, selector: str) -> object:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)  # type: ignore[attr-defined]


def css_all(driver: object, selector: str) -> list[object]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))  # type: ignore[attr-defined]


def set_token(driver: object, token: str) -> None:
    from selenium.webdriver.common.keys import Keys

    field = css(driver, "#token")
    field.clear()  # type: ignore[attr-defined]
    field.send_keys(token, Keys.TAB)  # type: ignore[attr-defined]


def assert_only_loopback(driver: object, base: str) -> None:
    loaded = driver.execute_script(  # type: ignore[attr-defined]
        "return [document.URL, ...performance.getEntriesByType('resource').map(e => e.name)]"
    )
    assert loaded and all(name.startswith(base + "/") for name in loaded), loaded


def shot(driver: object, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))  # type: ignore[attr-defined]


def api_score(base: str, items: list[dict[str, object]]) -> list[dict[str, object]]:
    r = httpx.post(
        base + "/score",
        json={"items": items, "explain": True},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    r.raise_for_status()
    return list(r.json()["results"])


# --------------------------------------------------------------------------------------------- tests
def test_without_the_token_the_page_shows_nothing(url: str, browser: object) -> None:
    browser.get(url + "/")  # type: ignore[attr-defined]
    set_token(browser, "")
    css(browser, "#completion").send_keys("<think>a</think> 4")  # type: ignore[attr-defined]
    css(browser, "#score").click()  # type: ignore[attr-defined]
    wait_for(browser, lambda d: "401" in css(d, "#status").text)  # type: ignore[attr-defined]
    assert not css_all(browser, "#reward")


def test_inspect_scores_an_item_and_explains_it(url: str, browser: object) -> None:
    browser.get(url + "/")  # type: ignore[attr-defined]
    set_token(browser, TOKEN)
    css(browser, "#prompt").send_keys(PROMPT)  # type: ignore[attr-defined]
    css(browser, "#completion").send_keys(COMPLETION)  # type: ignore[attr-defined]
    css(browser, "#answer").send_keys("4")  # type: ignore[attr-defined]
    css(browser, "#score").click()  # type: ignore[attr-defined]
    wait_for(browser, lambda d: css_all(d, "#reward"))

    (expected,) = api_score(url, [{"prompt": PROMPT, "completion": COMPLETION, "answer": "4"}])
    shown = float(css(browser, "#reward").text)  # type: ignore[attr-defined]
    assert shown == pytest.approx(expected["reward"], abs=5e-4)  # the page shows three decimals
    assert css(browser, "#d-outcome").text == "equivalent"  # type: ignore[attr-defined]
    # the answer region is highlighted and the extracted answer marked inside it
    region = css(browser, ".completion .answer-region")
    assert "The answer is" in region.text  # type: ignore[attr-defined]
    assert css(browser, ".completion .answer-region mark").text == "4"  # type: ignore[attr-defined]
    # language segments, coloured by their label against the target
    segments = css_all(browser, "#segments .segment")
    labels = [s.get_attribute("data-label") for s in segments]  # type: ignore[attr-defined]
    classes = [s.get_attribute("class") for s in segments]  # type: ignore[attr-defined]
    assert "en" in labels and "fr" in labels
    assert any("on-target" in c for c in classes) and any("off-target" in c for c in classes)
    # the raw JSON is the service's answer
    raw = browser.execute_script("return document.getElementById('raw').textContent")  # type: ignore[attr-defined]
    assert json.loads(raw)["scores"] == expected["scores"]
    assert_only_loopback(browser, url)
    shot(browser, "inspect")


def test_inspect_opens_a_jsonl_file_and_filters_by_outcome(url: str, browser: object, tmp_path: Path) -> None:
    path = tmp_path / "completions.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in FILE_ITEMS), encoding="utf-8")
    browser.get(url + "/")  # type: ignore[attr-defined]
    set_token(browser, TOKEN)
    css(browser, "#file").send_keys(str(path))  # type: ignore[attr-defined]
    wait_for(browser, lambda d: "3 items" in css(d, "#status").text)  # type: ignore[attr-defined]
    options = [o.get_attribute("value") for o in css_all(browser, "#filter option")]  # type: ignore[attr-defined]
    assert set(options) == {"", "equivalent", "not_equivalent", "no_answer"}

    from selenium.webdriver.support.ui import Select

    Select(css(browser, "#filter")).select_by_value("not_equivalent")
    assert css(browser, "#position").text == "1 / 1 (wrong)"  # type: ignore[attr-defined]
    assert css(browser, "#d-outcome").text == "not_equivalent"  # type: ignore[attr-defined]
    Select(css(browser, "#filter")).select_by_value("")
    css(browser, "#next").click()  # type: ignore[attr-defined]
    assert css(browser, "#position").text == "2 / 3 (wrong)"  # type: ignore[attr-defined]
    assert_only_loopback(browser, url)


def test_live_view_refreshes_from_metrics(url: str, browser: object) -> None:
    browser.get(url + "/live")  # type: ignore[attr-defined]
    set_token(browser, TOKEN)  # the first poll ran without it; the next ones use it

    def updates() -> int:
        return int(browser.execute_script("return document.body.dataset.updates || 0"))  # type: ignore[attr-defined]

    batch = [
        {"prompt": i["prompt"], "completion": i["completion"], "answer": str(i["gold"])} for i in FILE_ITEMS
    ]
    start = updates()
    deadline = time.monotonic() + 60
    while True:  # traffic while the page polls, until it has seen some (bounded in time)
        api_score(url, batch * 20)
        if updates() >= start + 3 and browser.execute_script("return series.ips.some(v => v > 0)"):  # type: ignore[attr-defined]
            break
        if time.monotonic() > deadline:
            pytest.fail("the live view never showed a non-zero item rate")
        time.sleep(0.2)
    outcomes = css(browser, "#outcomes").text  # type: ignore[attr-defined]
    assert "equivalent" in outcomes and "not_equivalent" in outcomes
    assert css(browser, "#tile-workers .value").text == "1"  # type: ignore[attr-defined]
    assert_only_loopback(browser, url)
    if SHOTS:
        browser.set_window_size(1400, 560)  # type: ignore[attr-defined]
        time.sleep(2.5)  # one more refresh at the new size
    shot(browser, "live")


def test_docs_render_offline(url: str, browser: object) -> None:
    browser.get(url + "/docs")  # type: ignore[attr-defined]
    title = wait_for(browser, lambda d: css_all(d, ".swagger-ui .info .title"))
    assert "verifiable-rewards" in title[0].text  # type: ignore[index]
    wait_for(browser, lambda d: any("/score" in e.text for e in css_all(d, ".opblock-summary-path")))  # type: ignore[attr-defined]
    assert_only_loopback(browser, url)
