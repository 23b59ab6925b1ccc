"""Look and feel: the Gradio theme, the page CSS (phone-width first) and the small scripts the page runs."""

from __future__ import annotations

import gradio as gr


def theme() -> gr.themes.Base:
    """Return the theme: Gradio's default with whole-weight local fonts (the bundled SemiBold files are stubs)."""
    return gr.themes.Default(
        primary_hue="teal", neutral_hue="slate",
        font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui",
              "sans-serif"],
    )


# Scroll the article pane (not the page) so the chosen source sits in view.
SCROLL_TO_FOCUS = """() => {
  setTimeout(() => {
    const mark = document.querySelector("#cc-article-pane mark.cc-focus");
    const box = mark && mark.closest(".cc-article-scroll");
    if (box && box.scrollHeight > box.clientHeight) {
      box.scrollTo({top: Math.max(0, mark.offsetTop - box.clientHeight / 3), behavior: "smooth"});
    }
  }, 80);
}"""

# The chat says it is busy (aria-busy, read by screen readers and by the browser tests) from the moment a
# question is sent (this runs before the request, and passes the event's three inputs on) until its answer is
# complete; then the chosen source is scrolled into view.
CHAT_BUSY = """(question, conversation, article) => {
  document.querySelector("#cc-chat")?.setAttribute("aria-busy", "true");
  return [question, conversation, article];
}"""
TURN_DONE = """() => {
  document.querySelector("#cc-chat")?.setAttribute("aria-busy", "false");
  (""" + SCROLL_TO_FOCUS + """)();
}"""

CHAT_CSS = """
.cc-header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem .75rem; }
.cc-brand { font-weight: 700; font-size: 1.05rem; color: var(--color-accent); letter-spacing: .02em; }
.cc-about { font-weight: 700; font-size: 1.25rem; }
.cc-tagline { flex-basis: 100%; color: var(--body-text-color-subdued); font-size: .9rem; }
#cc-chat .cc-answer { line-height: 1.5; }
#cc-chat sup.cc-cite { color: var(--color-accent); font-weight: 700; font-size: .75em; margin-left: 1px; }
#cc-chat .cc-abstained { font-style: italic; }
#cc-chat .cc-sources { margin-top: .6rem; padding-top: .45rem; border-top: 1px solid var(--border-color-primary);
  font-size: .9em; }
#cc-chat .cc-sources-title { font-weight: 700; font-size: .72rem; text-transform: uppercase; letter-spacing: .06em;
  color: var(--body-text-color-subdued); }
#cc-chat ul.cc-source-list { list-style: none; padding-left: 0; margin: .25rem 0 0; }
#cc-chat li.cc-source { margin: .4rem 0; padding-left: 0; }
#cc-chat li.cc-source::before { content: none; }
#cc-chat .cc-num { font-weight: 700; color: var(--color-accent); }
#cc-chat .cc-section { font-weight: 700; }
#cc-chat .cc-refs { color: var(--body-text-color-subdued); font-size: .9em; }
#cc-chat div.cc-quote { margin: .15rem 0 0; padding: .05rem 0 .05rem .6rem; font-style: italic;
  border-left: 3px solid var(--color-accent-soft); color: var(--body-text-color); }
#cc-chat .cc-note { margin-top: .35rem; font-size: .8em; color: var(--body-text-color-subdued); }
#cc-chat-column { gap: .6rem; }
#cc-suggestions { flex-wrap: wrap; gap: .35rem; align-items: center; }
#cc-suggest-label { flex: 1 1 100%; min-width: 100%; }
.cc-suggest-label { font-size: .8rem; color: var(--body-text-color-subdued); }
#cc-suggestions button.cc-suggestion { flex: 0 1 auto; min-width: 0; white-space: normal; text-align: left;
  font-weight: 400; }
#cc-tools { align-items: center; flex-wrap: nowrap; }
#cc-status { flex: 1 1 auto; min-width: 0; }
#cc-send { align-self: stretch; }
.cc-status { font-size: .85rem; color: var(--body-text-color-subdued); }
.cc-status.cc-error { color: var(--error-text-color, #b91c1c); }
.cc-disclaimer { font-size: .75rem; color: var(--body-text-color-subdued); }
.cc-disclaimer summary { cursor: pointer; }
.cc-disclaimer p { margin: .3rem 0 0; }
.cc-pane-hint { font-size: .8rem; color: var(--body-text-color-subdued); }
.cc-article-scroll { max-height: 72vh; overflow-y: auto; position: relative; padding-right: .4rem; }
.cc-article { font-size: .93rem; line-height: 1.55; }
.cc-article h2.cc-article-title { font-size: 1.2rem; margin: .2rem 0 .6rem; }
.cc-article h3 { font-size: 1.05rem; margin: 1rem 0 .3rem; }
.cc-article h4, .cc-article h5 { font-size: .95rem; margin: .8rem 0 .25rem; }
.cc-article sup.cc-ref { color: var(--body-text-color-subdued); font-size: .7em; margin-left: 2px; }
.cc-article mark.cc-hl { background: #fdf0b8; color: #1f2937; border-radius: 3px; padding: 0 2px; }
.cc-article mark.cc-focus { background: #fcd34d; box-shadow: 0 0 0 2px #f59e0b; }
.cc-article .cc-hl-num { font-weight: 700; font-size: .8em; color: #92400e; }
.cc-footer { text-align: right; font-size: .8rem; }
@media (max-width: 640px) {
  .cc-article-scroll { max-height: none; }
  .cc-about { font-size: 1.1rem; }
  #cc-chat { font-size: .95rem; }
}
"""

# Gradio scopes custom CSS inside `.contain`, below the element holding the page margins; these rules go in
# <head> as they are. Page: narrow margins on phones. Widget: it sits in someone's narrow box, no margins.
PAGE_HEAD = """<style>
@media (max-width: 640px) { .gradio-container > .main.app { padding-left: 10px !important;
  padding-right: 10px !important; } }
</style>"""
EMBED_HEAD = """<style>.gradio-container > .main.app { padding: 6px 8px !important; }</style>"""
EMBED_CSS = CHAT_CSS + """
.cc-about { font-size: 1.05rem; }
.cc-tagline { display: none; }
"""
