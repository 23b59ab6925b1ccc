"""Research-article files: front matter read as metadata, part labels lifted, no body text ever dropped."""

from __future__ import annotations

import html
import re
import tomllib

import pytest

from eval.covidqa import ARTICLES_DIR
from ingest.front import RULES_FILE, load_rules, read_front_matter
from ingest.parse import parse_file_text

RULES = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))
ARTICLES = sorted(ARTICLES_DIR.glob("*.txt"))
WORD = re.compile(r"[a-z0-9]*[a-z][a-z0-9]*")  # words: bare numbers may be reference markers, lifted on purpose


@pytest.mark.parametrize(("kind", "line"), [(r["kind"], c) for r in RULES["rule"] for c in r["cases"]])
def test_each_rule_takes_its_cases(kind, line):
    assert load_rules().kind(line) == kind


@pytest.mark.parametrize("line", RULES["article_text"]["lines"])
def test_article_text_is_never_front_matter(line):
    assert load_rules().kind(line) is None


def test_front_matter_gives_the_title_and_fields():
    text = ("Role of S-Palmitoylation on IFITM5\n\nhttps://www.ncbi.nlm.nih.gov/pmc/articles/PMC3776769/\n\n"
            "Tsukamoto, Takashi; Li, Xianglan\n2013-09-18\nDOI:10.1371/journal.pone.0075831\nLicense:cc-by\n\n"
            "Abstract: Recently, one protein was found.\n\nText: The family is conserved [1] .\n")
    front = read_front_matter(text)
    assert front is not None and front.title == "Role of S-Palmitoylation on IFITM5"
    assert set(front.fields) == {"url", "author_list", "date", "doi", "license"}
    article = parse_file_text(text, name="paper.txt")
    assert article.title == "Role of S-Palmitoylation on IFITM5"
    assert article.section_paths() == ["Role of S-Palmitoylation on IFITM5", "Abstract", "Main text"]
    assert "DOI" not in article.text and "Abstract:" not in article.text and "Text:" not in article.text
    sentence = next(s for b in article.blocks for s in b.sentences if article.text[s.start:s.end].startswith("The"))
    assert article.text[sentence.start:sentence.end] == "The family is conserved." and sentence.refs == (1,)


def test_a_page_without_front_matter_is_read_as_before():
    assert read_front_matter("What is scleromyxedema?\n\nScleromyxedema is a rare disorder.\n") is None


def test_placeholder_abstracts_are_dropped():
    text = "A title\n\nDOI: 10.1000/xyz\n\nAbstract: nan\n\nText: The body.\n"
    article = parse_file_text(text, name="a.txt")
    assert "nan" not in article.text and article.section_paths() == ["A title"]


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.stem)
def test_research_articles_keep_their_title_and_every_sentence(path):
    source = path.read_text(encoding="utf-8")
    article = parse_file_text(source, name=path.name)
    assert not article.title.lower().startswith(("sha:", "abstract", "top", "http"))
    assert "&minus;" not in article.text and not re.search(r"\[\d+\]", article.text)
    cleaned = " ".join(WORD.findall(article.text.lower()))
    front = read_front_matter(source)
    body = source[front.body_start:] if front else source
    for line in body.splitlines():
        line = re.sub(r"\[\d+(?:\s*[,–-]\s*\d+)*\]", " ", html.unescape(line))
        line = re.sub(r"^(abstract|text)\s*:\s*", "", line.strip(), flags=re.I)
        tokens = WORD.findall(line.lower())
        if len(tokens) < 12:
            continue  # headings, chrome and figure residue: short lines may be set aside on purpose
        assert " ".join(tokens) in cleaned, f"{path.name}: dropped {line[:80]!r}"
