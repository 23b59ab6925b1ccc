"""Property-based tests: arbitrary Unicode never crashes parsing or asking, and spans stay exact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import CitechatError, Reply
from ingest.chunk import chunk_article
from ingest.parse import parse_article

LINES = st.lists(
    st.one_of(
        st.text(min_size=0, max_size=80),
        st.sampled_from(["", "Heading Here", "  • bullet point 1, 2", "- dash item", "# Markdown Title",
                         "## Sub", "Sentence one. 3 Sentence two. 4, 5", "mortality 2:", "<p>x</p>"]),
    ),
    max_size=30,
)


def check_article(text: str, fmt: str) -> None:
    try:
        article = parse_article(text, slug="prop", fmt=fmt)
    except CitechatError:
        return  # a page with no article text is refused with a message, which is fine
    for block in article.blocks:
        assert article.text[block.start:block.end]
        for sentence in block.sentences:
            piece = article.text[sentence.start:sentence.end]
            assert piece and piece == piece.strip()
    for chunk in chunk_article(article, "v"):
        assert article.text[chunk.start:chunk.end] == chunk.text


@settings(max_examples=150, deadline=None)
@given(LINES, st.sampled_from(["text", "markdown", "html"]))
def test_parsing_any_text_keeps_spans_exact(lines, fmt):
    check_article("\n".join(lines), fmt)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=3000))
def test_parsing_raw_unicode(text):
    check_article(text, "text")


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=300))
def test_asking_anything_gives_a_reply_or_a_clear_error(bot, question):
    try:
        reply = bot.ask(question)
    except CitechatError as exc:
        assert str(exc)
        return
    assert isinstance(reply, Reply) and reply.answer
    for citation in reply.citations:
        assert bot.corpus().articles[citation.article].text[citation.start:citation.end] == citation.text
