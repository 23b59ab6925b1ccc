"""The Assistant: answers questions about the ingested articles with cited passages, or abstains."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from assistant import messages
from assistant.compose import compose, select, statement
from assistant.corpus import Corpus
from assistant.lexicon import Lexicon, load_lexicon
from assistant.query import Query, build_query, topical_words
from assistant.rank import REQUESTS_DOSE, STATES_DOSE, Passage, VersionSwitched, asked_types, rank
from assistant.scope import (
    check_terms,
    dose_target,
    has_figure,
    is_instruction,
    missing_facets,
    stated_near,
    wants_figure,
)
from assistant.summary import asks_for_summary, summarize
from assistant.text import all_stems, stem
from assistant.validate import clean_history, clean_question
from ingest.embedder import Embedder
from ingest.settings import Settings
from ingest.store import ArticleRecord, Store
from ingest.types import CitechatError, Reply

if TYPE_CHECKING:
    from assistant.llm import Generator

log = logging.getLogger(__name__)
StreamEvent = str | Reply
T = TypeVar("T")
MAX_OUTLINE = 8  # top-level sections a refusal names; a long article's are summed up as "and N more"
SHORT_OUTLINE = 12  # sections and subsections a refusal names all of, subsections in brackets


class Assistant:
    """Question answering over the store; safe to share between threads."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder,
                 lexicon: Lexicon | None = None, llm: Generator | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.lexicon = lexicon or load_lexicon()
        self.llm = llm  # phrases answers when set; the extractive pipeline still decides and supplies passages
        self._corpus: Corpus | None = None
        self._versions: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings | None = None, use_llm: bool | None = None) -> Assistant:
        """Return an assistant on the configured store, ingesting the bundled articles if it is empty.

        It generates answers with the language model the settings name (CITECHAT_LLM_*) when `use_llm` is
        None, always when True (raises CitechatError if none is configured), never when False.
        """
        from ingest.factory import load_embedder, open_store
        from ingest.pipeline import ingest_paths

        settings = settings or Settings()
        lexicon = load_lexicon()
        llm = None
        if use_llm or (use_llm is None and settings.llm_base_url):
            from assistant.llm import Generator, chat_model

            llm = Generator(chat_model(settings), settings, lexicon)  # fails before the embedder loads
        embedder = load_embedder(settings)
        store = open_store(settings, embedder.name, embedder.dimension)
        if not store.versions():
            if store.read_only is not None:
                raise CitechatError(messages.NOTHING_INGESTED_READ_ONLY.format(read_only=store.read_only))
            ingest_paths([settings.bundled_articles_dir], settings, store, embedder)
        assistant = cls(settings, store, embedder, lexicon, llm)
        assistant.corpus()
        return assistant

    # -- the store as seen now -------------------------------------------------------------------------
    def corpus(self) -> Corpus:
        """Return the indexed active chunks, rebuilt when an ingest has switched an article's version."""
        versions = self.store.versions()
        with self._lock:
            if self._corpus is None or versions != self._versions:
                records = {r.slug: r for r in self.store.articles()}
                versions = {slug: r.version for slug, r in records.items()}
                self._corpus = Corpus(records, self.store.chunks(versions))
                self._versions = versions
            return self._corpus

    def articles(self) -> list[ArticleRecord]:
        """Return the ingested articles."""
        return sorted(self.corpus().articles.values(), key=lambda r: r.slug)

    # -- answering -------------------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[dict[str, Any]] | None = None,
            article: str | None = None) -> Reply:
        """Return a cited answer, or an abstention; raises CitechatError for unusable input."""
        reply: Reply | None = None
        for event in self.stream(question, history, article):
            if isinstance(event, Reply):
                reply = event
        assert reply is not None
        return reply

    def stream(self, question: str, history: Sequence[dict[str, Any]] | None = None,
               article: str | None = None) -> Iterator[StreamEvent]:
        """Yield the answer's text in pieces, then the final Reply; raises CitechatError for bad input.

        The events: `str` pieces of verified answer text, to show as they come (each extractive sentence,
        or each generated sentence once the grounding guard has kept it), then exactly one `Reply`, the
        settled answer, which replaces the text shown so far. The pieces add up to `reply.answer`, except
        when a generated answer fell back (`reply.mode == "extractive-fallback"`) after some of its
        sentences were shown. The language model is only asked when the extractive path does not abstain.
        """
        text = clean_question(question, self.settings.max_question_chars)
        turns = clean_history(history, self.settings.max_history_messages, self.settings.max_history_chars)
        query = build_query(text, turns, self.lexicon)
        corpus, scope, reply = self._settled(lambda corpus, scope: self._answer(query, corpus, scope), article)
        if self.llm is not None and not reply.abstained:
            titles = [corpus.articles[slug].title for slug in scope]
            yield from self.llm.stream(text, turns, query.followup, reply,
                                       lambda standalone: self._candidates(query, standalone, corpus, scope), titles)
            return
        if reply.abstained:
            yield reply.answer
        for citation in reply.citations:
            yield ("" if citation.number == 1 else " ") + statement(citation)
        yield reply

    def _candidates(self, query: Query, standalone: str | None, corpus: Corpus,
                    scope: dict[str, str]) -> list[Passage]:
        """Ranked passages for the model: for the model's standalone rewrite of a follow-up, if it gave one."""
        if standalone:
            query = replace(build_query(standalone, [], self.lexicon), previous_answer=query.previous_answer)
        return rank(query, corpus.view(scope), self.store, self.embedder, scope, self.settings.retrieve_k)

    def _settled(self, work: Callable[[Corpus, dict[str, str]], T], article: str | None) -> tuple[
            Corpus, dict[str, str], T]:
        """Run `work` over the corpus and scope as they are now; once more if an ingest switched a version
        under it (its old chunks are gone), so a question in flight is answered from the new version."""
        corpus = self.corpus()
        scope = self._scope(corpus, article)
        try:
            return corpus, scope, work(corpus, scope)
        except VersionSwitched:
            log.info("an article's version switched while a question was answered: asking again")
        corpus = self.corpus()
        scope = self._scope(corpus, article)
        return corpus, scope, work(corpus, scope)

    def _scope(self, corpus: Corpus, article: str | None) -> dict[str, str]:
        """The {slug: version} the question is confined to, from this corpus's own records."""
        if not corpus.articles:
            raise CitechatError(messages.NO_ARTICLES)
        if article is None:
            return {slug: record.version for slug, record in corpus.articles.items()}
        if article not in corpus.articles:
            raise CitechatError(messages.UNKNOWN_ARTICLE.format(
                slug=article, available=", ".join(sorted(corpus.articles))))
        return {article: corpus.articles[article].version}

    def _answer(self, query: Query, corpus: Corpus, scope: dict[str, str]) -> Reply:
        view = corpus.view(scope)  # lexical search and every vocabulary check see the articles in scope only
        if is_instruction(query.question):
            return self._abstain(corpus, scope, messages.INSTRUCTION_REFUSAL, query)
        if asks_for_summary(query.question):
            summary = summarize(view, query.question)
            if summary:  # else a topic no heading names: answered as any question
                return compose(summary, query=query.text)
        check = check_terms(query.question, view, self.lexicon)
        if check.salient_missing:
            said = messages.NOT_MENTIONED.format(terms=_join(check.salient_missing))
            return self._abstain(corpus, scope, said, query)
        if check.nothing_known and not query.followup:
            return self._abstain(corpus, scope, messages.NOT_COVERED, query)
        facets = missing_facets(query.question, [corpus.articles[slug].text for slug in scope])
        if facets:
            return self._abstain(corpus, scope, messages.NOT_MENTIONED.format(terms=_join(facets)), query)
        passages = rank(query, view, self.store, self.embedder, scope, self.settings.retrieve_k)
        if not passages or passages[0].score < self.settings.abstain_below:
            return self._abstain(corpus, scope, messages.NOT_COVERED, query)
        chosen = select(passages, self.settings.max_answer_sentences, self.settings.answer_margin,
                        focus=query.topical, asked=asked_types(query.question), before=view.previous_sentence)
        if wants_figure(query.question) and self._unstated(query, chosen, has_figure, view) is not None:
            return self._abstain(corpus, scope, messages.NO_FIGURE, query)
        if REQUESTS_DOSE.search(query.question):
            # Asked for the dose of one drug, only a dose stated next to that drug answers: the IVIG sentence
            # also names corticosteroids, but its 2 g/kg is no prednisone dose.
            target = dose_target(query.question)
            near = set().union(*self.lexicon.concepts(target)) if target else set()
            states = ((lambda text: stated_near(text, STATES_DOSE, near)) if near
                      else (lambda text: bool(STATES_DOSE.search(text))))
            missing = self._unstated(query, chosen, states, view)
            if missing is not None:
                subject = target or missing or "that"
                return self._abstain(corpus, scope, messages.NO_DOSE.format(subject=subject), query)
        return compose(chosen, query=query.text)

    def _unstated(self, query: Query, chosen: list[Passage], states: Callable[[str], bool],
                  view: Corpus) -> str | None:
        """Return None when a chosen sentence states the asked kind of fact (a dose, a figure) about what the
        question names; else the names it asks about ('' when it names nothing of its own).

        A dose or a figure only answers for what it belongs to: asked for the dose of methotrexate, the IVIG
        dose sentence is no answer, however well it ranks; asked for an incidence, a dose is no figure.
        """
        named = [w for w in topical_words(query.question) if stem(w) not in view.subject_stems]
        concepts = [set().union(*self.lexicon.concepts(w)) for w in named]
        for passage in chosen:
            if not states(passage.text):
                continue
            stems = set(all_stems(f"{passage.chunk.section} {passage.text}"))
            if not concepts or any(c & stems for c in concepts):
                return None
        return _join(named) if named else ""

    def _abstain(self, corpus: Corpus, scope: dict[str, str], said: str, query: Query) -> Reply:
        covers = "; ".join(_outline(corpus.articles[slug]) for slug in sorted(scope))
        answer = f"{said} {messages.COVERS.format(sections=covers)}" if covers else said
        slug = next(iter(scope)) if len(scope) == 1 else ""
        return Reply(answer=answer, abstained=True, article=slug, query=query.text)

    def top_passages(self, question: str, history: Sequence[dict[str, Any]] | None = None,
                     article: str | None = None, k: int = 5) -> list[Passage]:
        """Return the reranked candidate sentences for a question (for evaluation and debugging)."""
        text = clean_question(question, self.settings.max_question_chars)
        turns = clean_history(history, self.settings.max_history_messages, self.settings.max_history_chars)
        query = build_query(text, turns, self.lexicon)
        _, _, passages = self._settled(lambda corpus, scope: rank(
            query, corpus.view(scope), self.store, self.embedder, scope, self.settings.retrieve_k), article)
        return passages[:k]

    def without_llm(self) -> Assistant:
        """Return an assistant sharing this one's model and store that answers extractively: for cheap checks
        (suggestions, evaluation baselines) that must not cost a language model call."""
        return self if self.llm is None else self._clone(self.settings, llm=None)

    def with_settings(self, **changes: Any) -> Assistant:
        """Return an assistant sharing this one's model and store, with some settings changed."""
        return self._clone(self.settings.model_copy(update=changes), llm=self.llm)

    def _clone(self, settings: Settings, llm: Generator | None) -> Assistant:
        clone = Assistant(settings, self.store, self.embedder, self.lexicon, llm)
        clone._corpus, clone._versions = self._corpus, self._versions
        return clone


def _outline(record: ArticleRecord) -> str:
    """Return what the article covers: 'Top (Child, Child), Top' for a short article, its top-level sections
    only for a long one, at most MAX_OUTLINE of them ('... and 12 more sections')."""
    tops: dict[str, list[str]] = {}
    for path in record.sections:
        if path == record.title:
            continue  # the title's own section is the overview, not a topic
        top, _, rest = path.partition(" > ")
        tops.setdefault(top, [])
        if rest:
            tops[top].append(rest.rpartition(" > ")[2])
    if len(tops) + sum(map(len, tops.values())) <= SHORT_OUTLINE:
        return ", ".join(f"{top} ({', '.join(children)})" if children else top for top, children in tops.items())
    names = list(tops)
    if len(names) > MAX_OUTLINE:
        return ", ".join(names[:MAX_OUTLINE]) + messages.MORE_SECTIONS.format(count=len(names) - MAX_OUTLINE)
    return ", ".join(names)


def _join(words: list[str]) -> str:
    unique = list(dict.fromkeys(words))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " or " + unique[-1]

