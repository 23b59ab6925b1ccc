"""A question in flight while an ingest switches the article's version is answered, from the new version.

The race is made certain: the assistant is handed the corpus it held before the switch, whose chunks the
ingest has since deleted (as happens when an ingest publishes between a question's corpus read and its
ranking). On the old code this was a KeyError in the reranker, a 500 for the user.
"""

from __future__ import annotations

from assistant import Assistant
from ingest.pipeline import ingest_paths
from tests.conftest import ARTICLE_PATH


def test_a_version_switch_under_a_question_does_not_fail_it(settings, store, embedder, tmp_path):
    source = tmp_path / "scleromyxedema.txt"
    text = ARTICLE_PATH.read_text(encoding="utf-8")
    source.write_text(text, encoding="utf-8")
    ingest_paths([source], settings, store, embedder)
    bot = Assistant(settings, store, embedder)
    question = "What is the first-line treatment?"
    before = bot.ask(question, article="scleromyxedema")
    stale = bot.corpus()

    source.write_text(text + "\n\nThis review was updated.\n", encoding="utf-8")  # a new version
    ingest_paths([source], settings, store, embedder)
    real = bot.corpus
    handed: list[object] = []

    def racing():  # the first read returns what the question saw before the switch
        corpus = stale if not handed else real()
        handed.append(corpus)
        return corpus

    bot.corpus = racing  # type: ignore[method-assign]
    reply = bot.ask(question, article="scleromyxedema")
    assert handed[0] is stale and handed[1] is not stale  # it ranked again over the store as it is now
    assert not reply.abstained
    assert reply.answer == before.answer
    current = {chunk.id for chunk in real().chunks}
    assert all(c.chunk_id in current for c in reply.citations)  # cited from the new version's chunks
