"""Parsing: title, section tree, chrome dropped, reference markers lifted, spans exact."""

from __future__ import annotations

import pytest

from ingest.chunk import chunk_article
from ingest.parse import parse_article, parse_file_text
from ingest.types import CitechatError
from tests.conftest import ARTICLE_PATH


@pytest.fixture(scope="module")
def article():
    return parse_file_text(ARTICLE_PATH.read_text(encoding="utf-8"), name=ARTICLE_PATH.name)


def test_title_slug_and_date(article):
    assert article.slug == "scleromyxedema"
    assert article.title == "What is Scleromyxedema?"
    assert article.updated == "December 8, 2025"


def test_section_tree(article):
    assert article.section_paths() == [
        "What is Scleromyxedema?",
        "Clinical Features",
        "Clinical Features > Cutaneous Manifestations",
        "Clinical Features > Systemic Involvement",
        "Clinical Features > Laboratory Findings",
        "Clinical Features > Histopathology",
        "Clinical Features > Epidemiology",
        "Treatment Approach",
        "Treatment Approach > First-Line Therapy",
        "Treatment Approach > Alternative Therapies",
        "Treatment Approach > Critical Pitfalls",
    ]


@pytest.mark.parametrize("chrome", [
    "Personalize", "Help us tailor your experience", "Have a follow-up question?", "Article Review Status",
    "Which best describes you?", "Our Medical A.I.", "Medical Advisory Board", "Educational purpose only",
    "References",
])
def test_site_chrome_is_dropped(article, chrome):
    assert chrome not in article.text


def test_disclaimer_is_kept_apart(article):
    assert article.disclaimer.startswith("This information is intended for healthcare professionals.")
    assert "Dr.Oracle assumes no liability" in article.disclaimer
    assert "healthcare professionals" not in article.text


def test_reference_markers_are_metadata_not_text(article):
    sentences = {article.text[s.start:s.end]: s.refs for b in article.blocks for s in b.sentences}
    definition = next(t for t in sentences if t.startswith("Scleromyxedema is a rare"))
    assert definition.endswith("in the absence of thyroid disease.")
    assert sentences[definition] == (1, 2)
    lead_in = next(t for t in sentences if t.startswith("Scleromyxedema frequently affects"))
    assert lead_in.endswith("morbidity and mortality:") and sentences[lead_in] == (2,)
    assert sentences["Extremely rare disorder"] == (5, 3)
    cns = next(t for t in sentences if t.startswith("Central Nervous System"))
    assert sentences[cns] == (5, 2)
    dose = next(t for t in sentences if "2 g/kg" in t)
    assert sentences[dose] == (1, 3)  # the dose itself is not mistaken for a marker


def test_spans_slice_the_article_back(article):
    raw = ARTICLE_PATH.read_text(encoding="utf-8")
    for block in article.blocks:
        for sentence in block.sentences:
            text = article.text[sentence.start:sentence.end]
            assert text and text == text.strip()
            assert text.rstrip(":") in raw  # verbatim from the page, markers aside
    chunks = chunk_article(article, "v1")
    assert len(chunks) == 26
    for chunk in chunks:
        assert article.text[chunk.start:chunk.end] == chunk.text


def test_markdown_and_html_give_the_same_tree():
    markdown = ("# Topic\n\nIntro sentence. 1\n\n## Part A\n\n- Point one 2, 3\n- Point **two**\n\n"
                "## Part B\n\nMore text.")
    html = ("<html><head><title>x</title><script>alert(1)</script></head><body><nav>Menu</nav><h1>Topic</h1>"
            "<p>Intro sentence. 1</p><h2>Part A</h2><ul><li>Point one 2, 3</li><li>Point <b>two</b></li></ul>"
            "<h2>Part B</h2><p>More text.</p></body></html>")
    md = parse_article(markdown, slug="t", fmt="markdown")
    web = parse_article(html, slug="t", fmt="html")
    assert md.text == web.text
    assert md.section_paths() == web.section_paths() == ["Topic", "Part A", "Part B"]
    assert "alert" not in web.text and "Menu" not in web.text
    refs = [s.refs for b in md.blocks for s in b.sentences]
    assert refs == [(1,), (2, 3), (), ()]


def test_page_without_article_text_is_refused():
    with pytest.raises(CitechatError, match="No article text"):
        parse_article("Personalize\n\nHelp us tailor your experience\n", slug="x")
