"""The chat page and the narrow embed widget: one Gradio Blocks builder, two layouts.

Handlers are stateless: the conversation lives in the browser (a hidden JSON component sent with every event),
the chatbot is re-rendered from it, and nothing about a user is kept in the process.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from assistant import Assistant
from assistant.suggest import follow_ups, starter_questions
from ingest.store import ArticleRecord
from ingest.types import CitechatError, Sentence
from ui import conversation as conv
from ui import messages, render
from ui.api import new_request_id
from ui.feedback import FeedbackDisabled, FeedbackStore
from ui.theme import CHAT_BUSY, SCROLL_TO_FOCUS, TURN_DONE

log = logging.getLogger(__name__)
SUGGESTIONS = 3
# The web component cannot pass ?article= (its page is the host's), so it names the article in an attribute:
# <gradio-app src="https://HOST/embed" data-article="SLUG">.
ARTICLE_FROM_ELEMENT = """(hint) => {
  const el = document.querySelector("gradio-app[data-article]");
  return el ? el.getAttribute("data-article") : (hint || "");
}"""


class ChatPage:
    """The handlers of the chat page, bound to one Assistant and one feedback store."""

    def __init__(self, bot: Assistant, feedback: FeedbackStore, embed: bool = False) -> None:
        self.bot = bot
        self.feedback = feedback
        self.embed = embed
        self._starters: dict[tuple[str, str], list[str]] = {}  # derived from the store, not from any user

    # -- articles ----------------------------------------------------------------------------------------
    def records(self) -> dict[str, ArticleRecord]:
        """Return the ingested articles by slug."""
        return {r.slug: r for r in self.bot.articles()}

    def titles(self) -> dict[str, str]:
        """Return article titles by slug."""
        return {slug: r.title for slug, r in self.records().items()}

    def choices(self) -> list[tuple[str, str]]:
        """Return the article selector's (label, slug) choices."""
        records = self.records()
        titles = [r.title for r in records.values()]
        return [(f"{r.title} ({slug})" if titles.count(r.title) > 1 else r.title, slug) for slug, r in records.items()]

    def sentences(self, slug: str) -> list[Sentence]:
        """Return the sentence spans (with their reference numbers) of an article."""
        return [s for c in self.bot.corpus().chunks if c.article == slug for s in c.sentences]

    def starters(self, slug: str) -> list[str]:
        """Return the checked starter questions of an article, computed once per article version."""
        record = self.records().get(slug)
        if record is None:
            return []
        key = (slug, record.version)
        if key not in self._starters:
            self._starters[key] = starter_questions(self.bot, slug, SUGGESTIONS)
        return self._starters[key]

    def pane(self, slug: str, turn: conv.Turn | None = None, focus: int | None = None) -> str:
        """Return the article pane, with the sources of `turn` highlighted and `focus` the chosen one."""
        record = self.records().get(slug)
        if record is None:
            return ""
        marks = render.highlights(turn.citations, slug, focus) if turn else []
        return render.article_html(record.title, record.text, record.sections, self.sentences(slug), marks)

    # -- events ------------------------------------------------------------------------------------------
    def open_article(self, slug: str, notice: str = "") -> dict[str, Any]:
        """Return the outputs of a fresh chat on an article: empty conversation, starters, pane, disclaimer."""
        record = self.records().get(slug)
        starters = self.starters(slug)
        return {
            "article": gr.update(choices=self.choices(), value=slug),
            "header": header_html(record),
            "chatbot": [],
            "conversation": [],
            "status": status_html(notice),
            "sources": gr.update(choices=[], value=None, visible=False),
            "pane": self.pane(slug),
            "disclaimer": render.disclaimer_html(record.disclaimer if record else ""),
            **suggestion_updates(starters, messages.STARTERS_LABEL),
        }

    def load(self, hint: str | None, request: gr.Request | None = None) -> dict[str, Any]:
        """Open the article named by the widget's data-article, else by ?article=, else the first one."""
        records = self.records()
        wanted = (hint or "").strip() or (request.query_params.get("article", "") if request else "")
        slug = wanted if wanted in records else next(iter(records), "")
        notice = ""
        if wanted and wanted not in records and slug:
            notice = messages.UNKNOWN_ARTICLE_PARAM.format(slug=wanted, title=records[slug].title)
        opened = self.open_article(slug, notice)
        del opened["chatbot"], opened["conversation"]
        return opened

    def respond(self, question: str | None, conversation: Any, article: str | None) -> Iterator[dict[str, Any]]:
        """Stream an answer into the chat, then show its sources and highlights; `suggest` follows it.

        The question box is cleared once, with the first update: a question typed while the answer streams in
        is kept. The event ends with the finished answer, so nothing it sends afterwards can undo what the
        user does next (choose a source, ask again); the follow-up questions come in a separate event.
        """
        if not conv.readable(conversation):
            yield {"status": status_html(messages.UNREADABLE_CONVERSATION, error=True)}
            return
        turns = conv.parse(conversation)
        records = self.records()
        if not article and len(records) > 1:  # asked before the page opened its article: never all of them
            yield {"status": status_html(messages.ARTICLE_NOT_OPEN, error=True)}
            return
        slug = article or next(iter(records), None)
        try:
            events = self.bot.stream(question or "", conv.history(turns), slug)
            first = next(events)
        except CitechatError as exc:
            yield {"status": status_html(str(exc), error=True)}
            return
        except Exception:
            yield {"status": status_html(internal_error("answering a question"), error=True)}
            return
        asked = [*turns, conv.user_turn(question or "")]
        titles = self.titles()
        shown = conv.chat_messages(asked, titles)
        cleared: dict[str, Any] = {"question": "", "status": "", **suggestion_updates([], "")}
        text = ""
        reply = None
        try:
            for event in itertools.chain([first], events):
                if isinstance(event, str):
                    text += event
                    yield {"chatbot": [*shown, {"role": "assistant", "content": render.answer_text_html(text)}],
                           **cleared}
                    cleared = {}
                else:
                    reply = event
        except Exception:  # the chat goes back to how it was before the question, with a message
            yield {"chatbot": conv.chat_messages(turns, titles),
                   "status": status_html(internal_error("answering a question"), error=True)}
            return
        assert reply is not None
        answered = [*asked, conv.assistant_turn(reply)]
        final: dict[str, Any] = {"chatbot": conv.chat_messages(answered, titles), "conversation": conv.dump(answered),
                                 **cleared, **suggestion_updates([], "")}
        if not self.embed:
            final.update(self.source_outputs(len(answered) - 1, answered[-1], slug or reply.article))
        yield final

    def suggest(self, conversation: Any, article: str | None) -> dict[str, Any]:
        """Return the checked follow-up questions for the last answer of the conversation; no change (the
        starters stay) when it does not end with an answer."""
        turns = conv.parse(conversation)
        found = conv.answer_at(turns)
        if found is None or found[0] != len(turns) - 1:
            return {}
        position, question, turn = found
        asked = max((i for i in range(position) if turns[i].role == "user"), default=0)
        suggestions = follow_ups(self.bot, question, turn.reply(), conv.history(turns[:asked]), article or None,
                                 SUGGESTIONS)
        return suggestion_updates(suggestions, messages.FOLLOW_UPS_LABEL)

    def source_outputs(self, position: int, turn: conv.Turn, slug: str) -> dict[str, Any]:
        """Return the source picker and the pane for the answer at `position`, its first source chosen."""
        choices = [(render.source_label(c), f"{position}:{c.number}") for c in turn.citations if c.article == slug]
        first = next((c.number for c in turn.citations if c.article == slug), None)
        return {"sources": gr.update(choices=choices, value=choices[0][1] if choices else None,
                                     visible=bool(choices)),
                "pane": self.pane(slug, turn, first)}

    def choose_source(self, choice: str | None, conversation: Any, article: str | None) -> str:
        """Return the pane with the chosen source ('position:number' of an answer) in focus."""
        position, _, number = (choice or "").partition(":")
        turns = conv.parse(conversation)
        found = conv.answer_at(turns, int(position)) if position.isdigit() else conv.answer_at(turns)
        turn = found[2] if found else None
        slug = article or (turn.article if turn else "")
        return self.pane(slug, turn, int(number) if number.isdigit() else None)

    def select_message(self, conversation: Any, article: str | None, data: gr.SelectData) -> dict[str, Any]:
        """Show the sources of the answer clicked in the chat."""
        index = data.index if isinstance(data.index, int) else None
        found = conv.answer_at(conv.parse(conversation), index) if index is not None else None
        if found is None:
            return {}
        position, _, turn = found
        return self.source_outputs(position, turn, article or turn.article)

    def rate(self, conversation: Any, article: str | None, data: gr.LikeData) -> str:
        """Store a thumbs up or down on the answer it was given to; return the thanks line."""
        index = data.index if isinstance(data.index, int) else None
        found = conv.answer_at(conv.parse(conversation), index) if index is not None else None
        liked = data.liked if isinstance(data.liked, bool) else str(data.liked).lower() == "like"
        if found is None or data.liked is None:
            return status_html(messages.FEEDBACK_NOT_SAVED)
        _, question, turn = found
        try:
            self.feedback.add(liked=liked, question=question, answer=turn.content, article=article or turn.article,
                              citations=[c.to_dict() for c in turn.citations], abstained=turn.abstained,
                              channel="embed" if self.embed else "chat")
        except FeedbackDisabled as exc:
            return status_html(str(exc))
        return status_html(messages.FEEDBACK_THANKS_UP if liked else messages.FEEDBACK_THANKS_DOWN)


def internal_error(doing: str) -> str:
    """Log the exception being handled with a new request id; return the message to show (the id, no details)."""
    request_id = new_request_id()
    log.exception("unexpected error %s on the chat page (request id %s)", doing, request_id)
    return messages.INTERNAL_ERROR.format(request_id=request_id)


def shielded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an event handler so that an unexpected exception shows our message with a request id, never its
    text (show_error is off, so Gradio would only say "Error"); details go to the log."""
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise gr.Error(internal_error(f"in {fn.__name__}"), print_exception=False) from exc
    return call


def header_html(record: ArticleRecord | None) -> str:
    """Return the page header: the brand and the article the chat is about."""
    about = f'<div class="cc-about">{render.inert(record.title)}</div>' if record else ""
    return (f'<div class="cc-header"><span class="cc-brand">{render.inert(messages.APP_TITLE)}</span>{about}'
            f'<div class="cc-tagline">{render.inert(messages.TAGLINE)}</div></div>')


def status_html(text: str, error: bool = False) -> str:
    """Return the status line under the question box (empty text: nothing)."""
    if not text:
        return ""
    css = "cc-status cc-error" if error else "cc-status"
    return f'<div class="{css}" role="status">{render.inert(text)}</div>'


def suggestion_updates(questions: list[str], label: str) -> dict[str, Any]:
    """Return updates for the suggestion label and buttons: one button per question, the rest hidden."""
    updates: dict[str, Any] = {"suggest_label": f'<div class="cc-suggest-label">{render.inert(label)}</div>'
                               if questions else ""}
    for i in range(SUGGESTIONS):
        text = questions[i] if i < len(questions) else ""
        updates[f"suggest_{i}"] = gr.update(value=text, visible=bool(text))
    return updates


def build_chat(page: ChatPage, concurrency: int = 4) -> gr.Blocks:
    """Return the Blocks of the chat page (or of the narrow widget when `page.embed`), answering `concurrency`
    questions at once (the rest wait in Gradio's queue)."""
    embed = page.embed
    with gr.Blocks(title=messages.APP_TITLE, fill_width=embed) as demo:
        c: dict[str, Any] = {}
        c["header"] = gr.HTML(elem_id="cc-header")
        # No article until the page has opened the one its address or its host names (see `load`): a question
        # sent before that must not be answered from the first article in the list.
        c["article"] = gr.Dropdown(label=messages.ARTICLE_LABEL, choices=page.choices(), elem_id="cc-article-select",
                                   value=None, visible=len(page.records()) > 1 and not embed, interactive=True)
        with gr.Row(equal_height=False, elem_id="cc-main"):
            with gr.Column(scale=3, min_width=300, elem_id="cc-chat-column"):
                c["chatbot"] = gr.Chatbot(
                    elem_id="cc-chat", show_label=False, height=420 if embed else 560, latex_delimiters=[],
                    allow_tags=False, sanitize_html=True, group_consecutive_messages=False, buttons=[],
                    feedback_options=("Like", "Dislike"), placeholder=f"<p>{render.inert(messages.TAGLINE)}</p>",
                    autoscroll=True, layout="bubble")
                with gr.Row(elem_id="cc-suggestions"):
                    c["suggest_label"] = gr.HTML(elem_id="cc-suggest-label")
                    for i in range(SUGGESTIONS):
                        c[f"suggest_{i}"] = gr.Button(visible=False, size="sm", variant="secondary", scale=0,
                                                      elem_classes=["cc-suggestion"], elem_id=f"cc-suggest-{i}")
                with gr.Row(elem_id="cc-ask-row", equal_height=True):
                    c["question"] = gr.Textbox(show_label=False, placeholder=messages.QUESTION_PLACEHOLDER, lines=1,
                                               max_lines=4, scale=5, min_width=160, elem_id="cc-question",
                                               autofocus=not embed, container=False)
                    c["send"] = gr.Button(messages.SEND, variant="primary", scale=0, min_width=70, elem_id="cc-send")
                with gr.Row(elem_id="cc-tools", equal_height=True):
                    c["status"] = gr.HTML(elem_id="cc-status")
                    c["clear"] = gr.Button(messages.CLEAR, size="sm", variant="secondary", scale=0, min_width=90,
                                           elem_id="cc-clear")
                c["disclaimer"] = gr.HTML(elem_id="cc-disclaimer")
            with gr.Column(scale=2, min_width=300, visible=not embed, elem_id="cc-article-column"):
                c["sources"] = gr.Radio(label=messages.SOURCE_PICKER_LABEL, choices=[], visible=False,
                                        elem_id="cc-sources")
                gr.HTML(f'<div class="cc-pane-hint">{render.inert(messages.ARTICLE_PANE_HINT)}</div>')
                c["pane"] = gr.HTML(elem_id="cc-article-pane", elem_classes=["cc-article-scroll"])
        c["conversation"] = gr.JSON(value=[], visible=False, elem_id="cc-conversation")
        c["hint"] = gr.Textbox(value="", visible=False)
        if not embed:
            gr.HTML(f'<div class="cc-footer"><a href="/docs" target="_blank">{messages.API_DOCS_LINK}</a></div>')

        everything = [c[k] for k in ("article", "header", "chatbot", "conversation", "status", "sources", "pane",
                                     "disclaimer", "suggest_label", *(f"suggest_{i}" for i in range(SUGGESTIONS)))]
        answer_outputs = [c[k] for k in ("chatbot", "conversation", "question", "status", "sources", "pane",
                                         "suggest_label", *(f"suggest_{i}" for i in range(SUGGESTIONS)))]

        def keyed(fn: Any) -> Any:
            """Wrap a handler returning {name: value} into one returning {component: value}, shielded."""
            safe = shielded(fn)

            def call(*args: Any, **kwargs: Any) -> Any:
                result = safe(*args, **kwargs)
                if isinstance(result, dict):
                    return {c[k]: v for k, v in result.items()}
                return ({c[k]: v for k, v in update.items()} for update in result)
            call.__name__ = fn.__name__
            call.__doc__ = fn.__doc__
            return call

        def load(hint: str, request: gr.Request) -> dict[Any, Any]:
            return keyed(page.load)(hint, request)

        def respond(question: str, conversation: Any, article: str) -> Iterator[dict[Any, Any]]:
            yield from keyed(page.respond)(question, conversation, article)

        def select_message(conversation: Any, article: str, data: gr.SelectData) -> dict[Any, Any]:
            return keyed(page.select_message)(conversation, article, data)

        def rate(conversation: Any, article: str, data: gr.LikeData) -> str:
            return str(shielded(page.rate)(conversation, article, data))

        # Loading leaves the (empty) chat alone: a question typed before the page finished loading survives.
        opened = [b for b in everything if b is not c["chatbot"] and b is not c["conversation"]]
        demo.load(load, [c["hint"]], opened, js=ARTICLE_FROM_ELEMENT, api_name="load",
                  api_visibility="undocumented")
        suggestion_outputs = [c["suggest_label"], *(c[f"suggest_{i}"] for i in range(SUGGESTIONS))]
        asks = [(c["send"].click, c["question"]), (c["question"].submit, c["question"]),
                *((c[f"suggest_{i}"].click, c[f"suggest_{i}"]) for i in range(SUGGESTIONS))]
        for n, (trigger, source) in enumerate(asks):
            answered = trigger(respond, [source, c["conversation"], c["article"]], answer_outputs, js=CHAT_BUSY,
                               api_name="respond" if n == 0 else False, api_visibility="undocumented",
                               show_progress="minimal", concurrency_limit=concurrency, concurrency_id="answer")
            answered.then(None, js=TURN_DONE)
            answered.then(keyed(page.suggest), [c["conversation"], c["article"]], suggestion_outputs,
                          api_name="suggest" if n == 0 else False, api_visibility="undocumented",
                          show_progress="hidden", concurrency_limit=concurrency, concurrency_id="answer")
        c["clear"].click(lambda slug: keyed(page.open_article)(slug), [c["article"]], everything, api_name="clear",
                         api_visibility="undocumented")
        c["chatbot"].clear(lambda slug: keyed(page.open_article)(slug), [c["article"]], everything, api_name=False)
        c["article"].input(lambda slug: keyed(page.open_article)(slug), [c["article"]], everything, api_name=False)
        c["sources"].input(shielded(page.choose_source), [c["sources"], c["conversation"], c["article"]], [c["pane"]],
                           api_name=False).then(None, js=SCROLL_TO_FOCUS)
        if not embed:
            c["chatbot"].select(select_message, [c["conversation"], c["article"]], [c["sources"], c["pane"]],
                                api_name=False).then(None, js=SCROLL_TO_FOCUS)
        c["chatbot"].like(rate, [c["conversation"], c["article"]], [c["status"]], api_name="rate",
                          api_visibility="undocumented")
    return demo
