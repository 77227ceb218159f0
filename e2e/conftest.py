"""End-to-end flows: Playwright (Python, sync API) driving Debian's /usr/bin/chromium
headless against pytest-django's live server.

- The browser is Debian's package (``make test`` installs it); Playwright never
  downloads a browser of its own here. A missing browser fails the run, never skips.
- The server is pytest-django's ``live_server`` on the test database, so every
  test that uses ``page`` needs ``@pytest.mark.django_db(transaction=True)``.
- Screenshots go to artifacts/screenshots/ (git-ignored; CI keeps them). A test
  that fails leaves ``FAILED-<test>.png`` there too.
- Every test under e2e/ is marked ``e2e`` (``make test`` runs them after the unit
  suite, in a run of their own).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = E2E_DIR.parent / "artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("KAM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The machine has no network but the package registries: without these,
    # Chromium keeps trying to reach Google's services at every start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 900}
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session", autouse=True)
def _orm_under_playwright():
    """Playwright's sync API keeps an asyncio event loop on the main thread; Django then
    refuses ORM calls from fixtures and tests ("You cannot call this from an async
    context"). Nothing here is async, so tell Django it may go ahead — for the e2e
    tests only: set at import, it leaked into every `kam` subprocess of the unit run
    (and `check --deploy` refuses it)."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark every test in this folder `e2e`, before `-m` selects on markers."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so `page` can tell a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"_report_{report.when}", report)


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole run."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing, so the end-to-end tests cannot run. "
            "`make test` installs it; by hand: apt-get install chromium "
            "(and fonts-noto-cjk for Chinese text in screenshots).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context (no cookies) at 1366×900 whose relative URLs go to
    the live server. Uncaught JavaScript errors and failed same-origin requests
    are collected on ``page.kam_errors`` for the test to assert on."""
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORT, locale="en-US", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"JavaScript error: {exc}"))

    def _on_response(response):
        if response.url.startswith(live_server.url) and response.status >= 400:
            errors.append(f"HTTP {response.status} for {response.url}")

    page.on("response", _on_response)
    page.kam_errors = errors
    yield page
    report = getattr(request.node, "_report_call", None)
    if report is not None and report.failed:
        try:
            save_screenshot(page, f"FAILED-{request.node.name}")
        except Exception as exc:  # the browser may be what broke; don't hide the failure
            print(f"(no failure screenshot: {exc})")
    context.close()


def save_screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the page to artifacts/screenshots/<name>.png and return its path."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "screenshot"
    path = ARTIFACTS_DIR / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture
def screenshot(page):
    """``screenshot("name")`` saves the current page to artifacts/screenshots/name.png."""

    def _take(name: str, *, full_page: bool = True) -> Path:
        return save_screenshot(page, name, full_page=full_page)

    return _take


@pytest.fixture
def login_as(page):
    """``login_as(username, password)`` signs in through the login form, as a person would."""

    def _login(username: str, password: str) -> None:
        page.goto("/login/")
        page.locator('input[name="username"]').fill(username)
        page.locator('input[name="password"]').fill(password)
        with page.expect_navigation():
            page.get_by_test_id("login-submit").click()
        if "/login/" in page.url:
            raise AssertionError(
                f"signing in as {username!r} failed; the page says:\n{page.inner_text('main')}"
            )

    return _login


@pytest.fixture
def switch_language(page):
    """``switch_language("zh-hans")`` clicks the language switch (data-testid
    lang-<code>), which posts to /i18n/setlang/ and comes back to the same page."""

    def _switch(code: str) -> None:
        with page.expect_navigation():
            page.get_by_test_id(f"lang-{code}").click()

    return _switch
