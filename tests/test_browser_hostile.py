"""Hostile text in Debian's Chromium: markup in a question and in an ingested article never runs and never
makes the browser fetch anything, on the chat page and in the widget (web component and iframe).

A recording server on its own loopback port stands for the remote host the markup points at. Every request the
browser makes is recorded, every dialog too; a script that ran would set `window.__ccPwned`. On the host page
(the web component) no CSP of ours applies: only escaping protects it. The last test shows the recorder sees
an image that is not escaped, so the checks can fail.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from assistant import Assistant
from ingest.factory import open_store
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLE_PATH, CHROMIUM, make_settings, page_site
from tests.test_browser_embed import WAIT, ask
from ui.background import free_port, serving
from ui.server import create_app

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed at /usr/bin/chromium: run `make browser`")

SLUG = "hostile"
TITLE = 'Bullous Pemphigoid <img src="{evil}/title.png" onerror="alert(\'title\')">'
ARTICLE = TITLE + """

Overview

Bullous pemphigoid is an autoimmune blistering disease of older adults <script>window.__ccPwned='script'</script> \
that causes tense blisters. 1

The itch of bullous pemphigoid can precede the blisters by months <img src={evil}/itch.png \
onerror="window.__ccPwned='img';alert('img')">. 2

Treatment <svg onload="window.__ccPwned='svg'">

  • Potent topical corticosteroids such as clobetasol are the first-line treatment for bullous pemphigoid \
[guide](javascript:window.__ccPwned='link'). 3
  • Doxycycline is an alternative for bullous pemphigoid ![pixel]({evil}/pixel.png) in milder disease \
<style>@import url("{evil}/style.css");</style>. 4
  • Dupilumab reduces the itch of bullous pemphigoid <a href="javascript:window.__ccPwned='href'">details</a> \
<iframe src="{evil}/frame"></iframe>. 5
"""
QUESTION = ("<script>window.__ccPwned='q-script'</script><img src=\"{evil}/q.png\" "
            "onerror=\"window.__ccPwned='q-img'\"> [x](javascript:window.__ccPwned='q-link') ![p]({evil}/q-pixel.png) "
            "<a href=\"{evil}/q\">more</a> "
            "What is the first-line treatment for bullous pemphigoid?")
# What a page must not contain inside the chat, the article pane, the header or the source picker.
INJECTED = """() => {
  const found = [];
  const areas = document.querySelectorAll("#cc-chat, #cc-article-pane, #cc-header, #cc-sources, #cc-article-select");
  const loads = ["src", "href", "srcset", "data", "action", "formaction", "xlink:href", "poster", "background"];
  for (const area of areas) {
    for (const el of area.querySelectorAll("*")) {
      const tag = el.tagName.toLowerCase();
      const html = `${el.outerHTML.slice(0, 200)} in #${area.id}`;
      if (["script", "img", "iframe", "object", "embed", "link", "video", "audio", "image"].includes(tag)) {
        found.push(html);
      }
      // Gradio's own icons carry a <style>; one that loads or mentions our flag came from the text.
      if (tag === "style" && /@import|url\\(|__ccPwned/i.test(el.textContent)) found.push(html);
      for (const attr of el.attributes) {
        const remote = /^\\s*javascript:/i.test(attr.value) || attr.value.includes("127.0.0.1:EVIL_PORT");
        if (/^on/i.test(attr.name) || (loads.includes(attr.name.toLowerCase()) && remote)) found.push(html);
      }
    }
  }
  return {found, areas: areas.length};
}"""


@pytest.fixture(scope="module")
def evil() -> Iterator[tuple[str, list[str]]]:
    """The 'remote' host the hostile markup points at; records the path of every request it gets."""
    hits: list[str] = []

    class Remote(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.end_headers()
            self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Remote)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


@pytest.fixture(scope="module")
def hostile_bot(tmp_path_factory, embedder, bot, evil) -> Assistant:
    """The bundled article and the hostile one, in their own store."""
    home = tmp_path_factory.mktemp("hostile-browser")
    path = home / f"{SLUG}.txt"
    path.write_text(ARTICLE.format(evil=evil[0]), encoding="utf-8")
    settings = make_settings(home / "store")
    store = open_store(settings, embedder.name, embedder.dimension)
    ingest_paths([ARTICLE_PATH, path], settings, store, embedder)
    hostile = Assistant(settings, store, embedder, bot.lexicon)
    record = next(r for r in hostile.articles() if r.slug == SLUG)
    assert record.title == TITLE.format(evil=evil[0]) and "<script>" in record.text  # stored as typed: data
    return hostile


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, list[bytes]]]:
    """A site owner's page on its own origin: the widget as a web component and as an iframe."""
    with page_site() as served:
        yield served


@pytest.fixture(scope="module")
def app_url(hostile_bot, tmp_path_factory, site) -> Iterator[str]:
    origin, body = site
    settings = make_settings(tmp_path_factory.mktemp("hostile-app"), allowed_origins=origin)
    with serving(create_app(settings, assistant=hostile_bot)) as url:
        body.append(f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>An article</title>
<script type="module" src="{url}/gradio.js"></script></head><body><h1>An article page</h1>
<div id="web-component-widget"><gradio-app src="{url}/embed" data-article="{SLUG}"></gradio-app></div>
<div id="iframe-widget"><iframe src="{url}/embed/?article={SLUG}" width="420" height="760"></iframe></div>
</body></html>""".encode())
        yield url


class Watch:
    """Everything a browser context requests, every dialog and every console error of its pages."""

    def __init__(self, context: Any) -> None:
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))

    def page(self, context: Any) -> Any:
        page = context.new_page()
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        return page


def assert_inert(page: Any, watch: Watch, evil: tuple[str, list[str]], frames_with_chat: int) -> None:
    """No script ran, nothing was fetched from the remote host, no markup was injected in any frame."""
    checked = 0
    for frame in page.frames:
        assert frame.evaluate("() => window.__ccPwned") is None, frame.url
        result = frame.evaluate(INJECTED.replace("EVIL_PORT", evil[0].rsplit(":", 1)[1]))
        assert result["found"] == [], (frame.url, result["found"])
        checked += 1 if result["areas"] else 0
    assert checked == frames_with_chat
    assert watch.dialogs == []
    assert not [u for u in watch.requests if u.startswith(evil[0]) or u.startswith("javascript:")], watch.requests
    assert evil[1] == []
    assert not [m for m in watch.console if "Content Security Policy" in m or "Refused" in m], watch.console


def test_chat_page_shows_hostile_article_and_question_as_text(browser, app_url, evil):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watch = Watch(context)
    page = watch.page(context)
    page.goto(f"{app_url}/?article={SLUG}", wait_until="load")
    title = TITLE.format(evil=evil[0])
    page.locator("#cc-header", has_text=title).wait_for(timeout=WAIT)
    page.locator("#cc-article-pane", has_text="<script>window.__ccPwned='script'</script>").wait_for(timeout=WAIT)

    question = QUESTION.format(evil=evil[0])
    ask(page, question, 0)
    assert page.locator("#cc-chat .cc-question").last.inner_text() == question  # shown exactly as typed
    ask(page, "How is the itch treated?", 1)
    answer = page.locator("#cc-chat .cc-answer").last.inner_text()
    assert "onerror=\"window.__ccPwned='img';alert('img')\"" in answer
    assert "<iframe src=\"" + evil[0] + "/frame\"></iframe>" in answer
    sources = page.locator("#cc-sources label")
    sources.nth(1).click()  # the Dupilumab bullet, with its <a href="javascript:..."> and <iframe>, in focus
    focus = page.locator("#cc-article-pane mark.cc-focus[data-cite='2']")
    focus.wait_for(timeout=WAIT)
    assert "<a href=\"javascript:window.__ccPwned='href'\">details</a>" in focus.inner_text()
    assert page.locator("#cc-sources", has_text="Treatment <svg onload=").count() == 1

    page.locator("#cc-article-select input").click()  # the selector's options list the hostile title as text
    page.get_by_role("option", name=title).wait_for(timeout=WAIT)
    assert_inert(page, watch, evil, frames_with_chat=1)
    assert any(u.startswith(app_url) for u in watch.requests)  # the recorder does see the page's requests
    context.close()


def test_widget_shows_hostile_article_and_question_as_text(browser, site, app_url, evil):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    watch = Watch(context)
    page = watch.page(context)
    page.goto(f"{site[0]}/", wait_until="load")
    question = QUESTION.format(evil=evil[0])

    widget = page.locator("#web-component-widget")  # on the host's page: no CSP of ours, only escaping
    widget.locator("#cc-header", has_text=TITLE.format(evil=evil[0])).wait_for(timeout=WAIT)
    ask(widget, question, 0)
    assert widget.locator("#cc-chat .cc-question").last.inner_text() == question
    ask(widget, "What is bullous pemphigoid?", 1)
    shown = widget.locator("#cc-chat").inner_text()
    assert "<script>window.__ccPwned='script'</script>" in shown
    assert "[guide](javascript:window.__ccPwned='link')" in shown

    frame = page.frame_locator("#iframe-widget iframe")
    frame.locator("#cc-question textarea").wait_for(timeout=WAIT)
    ask(frame, question, 0)
    ask(frame, "What are the alternatives?", 1)
    shown = frame.locator("#cc-chat").inner_text()
    assert f"![pixel]({evil[0]}/pixel.png)" in shown and f'@import url("{evil[0]}/style.css")' in shown
    assert_inert(page, watch, evil, frames_with_chat=2)
    context.close()


def test_the_recorder_sees_an_image_that_is_not_escaped(browser, evil):
    context = browser.new_context()
    watch = Watch(context)
    page = watch.page(context)
    with page.expect_response(f"{evil[0]}/control.png", timeout=WAIT):
        page.set_content(f'<img src="{evil[0]}/control.png" onerror="window.__ccPwned=1">')
    assert evil[1] == ["/control.png"] and watch.requests[-1] == f"{evil[0]}/control.png"
    evil[1].clear()
    context.close()
