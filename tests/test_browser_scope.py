"""Scope in the browser: the chat page's `?article=`, the widget's `data-article` and its iframe's
`?article=` answer from that article only, with a second article in the store.

Debian's Chromium on the real app. The same question is first asked of the review, which answers it with its
IVIG sentence: the check can see a leak. Asked of a research article in the same store, the answer never
quotes the review.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant
from eval.covidqa import ARTICLES_DIR
from ingest.factory import open_store
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLE_PATH, CHROMIUM, make_settings, page_site
from tests.test_browser_embed import WAIT, ask
from ui.background import serving
from ui.server import create_app

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed at /usr/bin/chromium: run `make browser`")
OTHER = "covidqa-009"
QUESTION = "What is the first-line treatment?"
REVIEW_ONLY = ("immunoglobulin", "IVIG", "Treatment Approach")  # what only the review's answer says

HOST = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A research article</title>
<script type="module" src="{app}/gradio.js"></script></head><body><h1>A research article</h1>
<div id="web-component-widget"><gradio-app src="{app}/embed" data-article="{slug}" initial_height="600px">
</gradio-app></div>
<div id="iframe-widget"><iframe src="{app}/embed?article={slug}" title="Ask" width="420" height="600"></iframe></div>
</body></html>"""


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, list[bytes]]]:
    with page_site() as served:
        yield served


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, embedder, site) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("browser-scope-home")
    settings = make_settings(home, allowed_origins=site[0])
    store = open_store(settings, embedder.name, embedder.dimension)
    ingest_paths([ARTICLE_PATH, ARTICLES_DIR / f"{OTHER}.txt"], settings, store, embedder)
    with serving(create_app(settings, assistant=Assistant(settings, store, embedder))) as url:
        site[1].append(HOST.format(app=url, slug=OTHER).encode())
        yield url


def shown(scope: Any) -> str:
    """The last answer and its sources, as shown (a refusal has no sources)."""
    sources = scope.locator("#cc-chat .cc-sources")
    return scope.locator("#cc-chat .cc-answer").last.inner_text() + (
        "\n" + sources.last.inner_text() if sources.count() else "")


def leaked(scope: Any) -> list[str]:
    text = shown(scope)
    return [word for word in REVIEW_ONLY if word in text]


def opened(scope: Any) -> None:
    """Wait until the chat has opened its article (its header shows it)."""
    scope.locator("#cc-header .cc-header").wait_for(timeout=WAIT)


def test_the_chat_pages_article_parameter_keeps_the_scope(browser, app_url):
    page = browser.new_page()
    page.goto(f"{app_url}/?article=scleromyxedema", wait_until="load")
    opened(page)
    ask(page, QUESTION, 0)
    assert "immunoglobulin" in shown(page)  # the review answers it: a leak would show
    page.goto(f"{app_url}/?article={OTHER}", wait_until="load")
    opened(page)
    ask(page, QUESTION, 0)
    assert not leaked(page)
    page.close()


def test_the_widget_keeps_its_articles_scope(browser, site, app_url):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(site[0], wait_until="load")
    widget: Any = page.locator("#web-component-widget")
    opened(widget)
    ask(widget, QUESTION, 0)
    assert not leaked(widget)
    frame = page.frame_locator("#iframe-widget iframe")
    opened(frame)
    ask(frame, QUESTION, 0)
    assert not leaked(frame)
    page.close()


def test_a_question_sent_before_the_article_opens_is_not_answered_from_another(app_url):
    """The chat's own call, as the page sends it before `load` has chosen the article: no article."""
    from gradio_client import Client

    client = Client(app_url + "/", verbose=False)
    *_, status = client.predict(QUESTION, [], None, api_name="/respond")[:4]
    assert "still opening" in str(status)
