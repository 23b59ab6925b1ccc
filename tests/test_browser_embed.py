"""Debian's Chromium (headless, via playwright) on the example article page and on the chat page.

The example page is served from another origin than the app, as a site owner's page would be: the widget must
load through CORS as a web component and through frame-ancestors as an iframe. Screenshots go to
$CITECHAT_SCREENSHOTS (default reports/screenshots; `make screenshots` refreshes docs/screenshots).
"""

from __future__ import annotations

import io
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHROMIUM, make_settings, page_site
from ui.background import serving
from ui.server import create_app

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "embed.html"
EXAMPLE_APP_URL = "http://127.0.0.1:7860"  # what examples/embed.html points at
WAIT = 30_000  # ms; generous for a loaded 2-core machine, never a timing assertion

# Scroll the chat (not the page) so that an element sits at the top of it.
SCROLL_CHAT_TO = """(el) => {
  let box = el.parentElement;
  while (box && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
  if (box) box.scrollTop += el.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
}"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed at /usr/bin/chromium: run `make browser`")


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = Path(os.environ.get("CITECHAT_SCREENSHOTS", ROOT / "reports" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-home")


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, list[bytes]]]:
    """A web server on its own origin for the example page; its body is filled in once the app's URL is known."""
    with page_site() as served:
        yield served


@pytest.fixture(scope="module")
def app_url(bot, home, site) -> Iterator[str]:
    origin, body = site
    settings = make_settings(home, allowed_origins=origin)
    with serving(create_app(settings, assistant=bot)) as url:
        text = EXAMPLE.read_text(encoding="utf-8")
        assert text.count(f'src="{EXAMPLE_APP_URL}/') == 3  # the loader, the web component, the iframe
        body.append(text.replace(EXAMPLE_APP_URL, url).encode())
        yield url


def ask(scope: Any, question: str, answers_before: int) -> None:
    """Type a question into a chat (a page, frame or element) and wait until its answer is complete."""
    box = scope.locator("#cc-question textarea")
    box.fill(question)
    box.press("Enter")
    # The answer streams in as bare text; the finished reply is a .cc-answer block with its sources.
    scope.locator("#cc-chat .cc-answer").nth(answers_before).wait_for(timeout=WAIT)
    # The event is over only when the chat stops being busy: until then Gradio ignores another question.
    scope.locator("#cc-chat[aria-busy='false']").wait_for(timeout=WAIT)


def snap(target: Any, path: Path) -> None:
    """Save a screenshot of a page or element as a small palette PNG (they are committed for the README)."""
    from PIL import Image

    image = Image.open(io.BytesIO(target.screenshot()))
    image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def last_bot_text(scope: Any) -> str:
    """The text of the last answer and of its sources, as shown."""
    answer = scope.locator("#cc-chat .cc-answer").last.inner_text()
    return f"{answer}\n{scope.locator('#cc-chat .cc-sources').last.inner_text()}"


def test_widget_on_the_example_article_page(browser, site, app_url, home, shots):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{site[0]}/embed.html", wait_until="load")

    widget = page.locator("#web-component-widget")
    widget.locator("#cc-question textarea").wait_for(timeout=WAIT)
    widget.locator("#cc-suggest-0", has_text="What is Scleromyxedema?").wait_for(timeout=WAIT)  # starters

    ask(widget, "What dose of IVIG is used?", 0)
    first = last_bot_text(widget)
    assert "2 g/kg" in first
    assert "Treatment Approach › First-Line Therapy (article refs 1, 3)" in first

    ask(widget, "How often is it given?", 1)
    second = last_bot_text(widget)
    assert "monthly" in second and "SOURCES" in second.upper()
    widget.locator("#cc-suggest-0").wait_for(timeout=WAIT)  # checked follow-ups are offered

    widget.get_by_label("Like", exact=True).last.click()
    widget.locator(".cc-status", has_text="Thanks").wait_for(timeout=WAIT)
    with sqlite3.connect(home / "feedback.sqlite3") as db:
        row = db.execute("SELECT rating, question, channel FROM feedback ORDER BY id DESC LIMIT 1").fetchone()
    assert row == (1, "How often is it given?", "embed")
    widget.locator("#cc-chat .cc-question").last.evaluate(SCROLL_CHAT_TO)  # the follow-up, then its answer
    snap(page, shots / "widget-embedded.png")

    frame_box = page.locator("#iframe-widget iframe")
    frame_box.scroll_into_view_if_needed()
    frame = page.frame_locator("#iframe-widget iframe")
    frame.locator("#cc-question textarea").wait_for(timeout=WAIT)
    ask(frame, "Who is typically affected?", 0)
    assert "Middle-aged adults" in last_bot_text(frame)
    ask(frame, "Is there a gender predilection?", 1)
    assert "No gender or racial predilection" in last_bot_text(frame)
    snap(page.locator("#iframe-widget"), shots / "widget-iframe.png")

    assert not [p for p in problems if "CORS" in p or "frame-ancestors" in p or "Refused" in p], problems
    page.close()


def test_chat_page_highlights_the_chosen_source(browser, app_url, shots):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{app_url}/?article=scleromyxedema", wait_until="load")
    page.locator("#cc-header", has_text="What is Scleromyxedema?").wait_for(timeout=WAIT)  # ?article= opened
    page.locator("#cc-disclaimer summary", has_text="Medical disclaimer").wait_for(timeout=WAIT)

    ask(page, "What is the treatment approach?", 0)
    sources = page.locator("#cc-sources label")
    sources.first.wait_for(timeout=WAIT)
    assert sources.count() >= 3
    sources.nth(2).click()  # choose source [3]
    focus = page.locator("#cc-article-pane mark.cc-focus[data-cite='3']")
    focus.wait_for(timeout=WAIT)
    page.wait_for_function(  # the pane scrolls the chosen sentence into its view
        """() => { const m = document.querySelector('#cc-article-pane mark.cc-focus');
                   const box = m && m.closest('.cc-article-scroll');
                   if (!box) return false;
                   const a = m.getBoundingClientRect(), b = box.getBoundingClientRect();
                   return a.top >= b.top && a.bottom <= b.bottom; }""", timeout=WAIT)
    assert page.locator("#cc-article-pane mark.cc-hl").count() >= 3  # every source of the answer is marked
    assert page.evaluate("() => document.querySelectorAll('#cc-chat img, #cc-chat script').length") == 0
    snap(page, shots / "chat-page.png")

    page.locator("#cc-clear").click()
    page.locator("#cc-chat .cc-answer").first.wait_for(state="detached", timeout=WAIT)
    page.close()


def test_chat_page_fits_a_phone(browser, app_url, shots):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True)
    page.goto(app_url + "/", wait_until="load")
    page.locator("#cc-header", has_text="What is Scleromyxedema?").wait_for(timeout=WAIT)
    ask(page, "What do the skin lesions look like?", 0)
    assert "papules" in last_bot_text(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    chat = page.locator("#cc-chat").bounding_box()
    assert chat is not None and chat["width"] <= 390
    snap(page, shots / "chat-phone.png")
    page.close()


def test_api_docs_render_offline_from_the_app_itself(browser, app_url):
    # Swagger UI comes from the app (ui/docs.py), not a CDN: the page renders with nothing but the app to talk to.
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((app_url, "data:")) else elsewhere.append(r.url))
    page.goto(app_url + "/docs", wait_until="load")
    page.locator(".swagger-ui .info .title", has_text="citechat").wait_for(timeout=WAIT)
    page.locator(".opblock-summary-path", has_text="/api/ask").first.wait_for(timeout=WAIT)
    assert elsewhere == [] and problems == []
    page.close()
