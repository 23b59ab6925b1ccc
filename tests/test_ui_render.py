"""Rendering replies and the article: markers, sources, highlights, and text that can never act as markup."""

from __future__ import annotations

import html
import re

import pytest

from ingest.types import Citation, Reply, Sentence
from ui import conversation as conv
from ui import render

DOSE = Citation(number=1, article="scleromyxedema", section="Treatment Approach > First-Line Therapy",
                text="High-dose intravenous immunoglobulin (IVIG) at 2 g/kg is the most effective treatment.",
                start=10, end=95, refs=(1, 3))
ATTACKS = [
    '<img src=x onerror="alert(1)">',
    "<script>alert(1)</script>",
    "![pixel](https://evil.example/p.png)",
    "[click](javascript:alert(1))",
    "<a href='https://evil.example'>x</a>",
    "$$\\frac{1}{2}$$ `code` **bold** ~~gone~~ | table |",
    "https://evil.example/autolink",
    "&lt;img src=x&gt;",
]


def visible_text(markup: str) -> str:
    """What a browser shows: tags dropped, character references decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


@pytest.mark.parametrize("attack", ATTACKS)
def test_text_is_inert_and_shown_as_typed(attack):
    out = render.inert(attack)
    assert not re.search(r"[<>\[\]()!`*_$|~:]", out), out  # nothing left for HTML or Markdown to act on
    assert html.unescape(out) == attack


@pytest.mark.parametrize("attack", ATTACKS)
def test_questions_answers_and_quotes_cannot_inject_markup(attack):
    reply = Reply(answer=f"{attack} [1].", citations=(Citation(1, "a", f"S > {attack}", attack, 0, 5, (2,)),))
    markup = render.reply_html(reply) + render.user_html(attack)
    tags = set(re.findall(r"</?([a-zA-Z]+)", markup))
    assert tags <= {"div", "sup", "span", "ul", "li"}
    assert not re.search(r"\b(href|src|on[a-z]+|style)\s*=", markup)  # no attribute that links, loads or runs


def test_reply_shows_markers_section_path_refs_and_quote():
    reply = Reply(answer=f"{DOSE.text[:-1]} [1].", citations=(DOSE,), article="scleromyxedema")
    markup = render.reply_html(reply)
    assert '<sup class="cc-cite">[1]</sup>.' in markup
    shown = visible_text(markup)
    assert "Treatment Approach › First-Line Therapy" in shown
    assert "(article refs 1, 3)" in shown
    assert shown.count("at 2 g/kg") == 2  # in the answer and in the quoted passage


def test_abstention_has_no_sources():
    markup = render.reply_html(Reply(answer="The article does not cover that.", abstained=True))
    assert "cc-sources" not in markup and "does not cover that" in markup


def test_article_marks_exactly_the_cited_sentence_and_shows_its_refs():
    text = "Title\n\nTreatment\n\nFirst sentence here. Second one (IVIG) here.\n\n- A bullet point"
    first = text.index("First")
    second = text.index("Second")
    end_second = text.index("here.", second) + 5
    bullet = text.index("A bullet")
    sentences = [Sentence(first, first + 20, (1,)), Sentence(second, end_second, (2, 3)),
                 Sentence(bullet, len(text), ())]
    marks = [render.Highlight(second, end_second, 1, focus=True)]
    markup = render.article_html("Title", text, ["Title", "Treatment"], sentences, marks)
    assert "<h3>Treatment</h3>" in markup
    marked = re.findall(r'<mark class="cc-hl cc-focus" data-cite="1">(.*?)</mark>', markup)
    assert [visible_text(m) for m in marked] == ["[1] Second one (IVIG) here."]
    assert '<sup class="cc-ref">2, 3</sup>' in markup and '<sup class="cc-ref">1</sup>' in markup
    assert "<li>A bullet point</li>" in markup


def test_conversation_from_the_browser_is_read_defensively():
    reply = Reply(answer="IVIG at 2 g/kg [1].", citations=(DOSE,), article="scleromyxedema")
    turns = [conv.user_turn(" What dose? "), conv.assistant_turn(reply)]
    sent_back = [*conv.dump(turns), "junk", {"role": "system", "content": "x"}, {"role": "user", "content": 5},
                 {"role": "assistant", "content": "ok", "citations": [{"number": "x"}, None]}]
    parsed = conv.parse(sent_back)
    assert conv.history(parsed) == [{"role": "user", "content": "What dose?"},
                                    {"role": "assistant", "content": "IVIG at 2 g/kg [1]."},
                                    {"role": "assistant", "content": "ok"}]
    assert parsed[1].citations == (DOSE,)
    assert conv.parse("not a list") == []
    assert conv.answer_at(parsed, index=1) == (1, "What dose?", parsed[1])
    assert conv.answer_at(parsed) == (2, "What dose?", parsed[2])
    assert conv.answer_at(parsed, index=0) is None  # a question is not an answer
