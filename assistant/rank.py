"""Hybrid retrieval and reranking: BM25 and dense candidates fused, then every sentence scored.

No cross-encoder ships on PyPI, so the reranker is a linear model over interpretable relevance features:
dense similarity, concept coverage (question words or their lexicon synonyms, weighted by rarity), rank
fusion, intact phrases, answer-type match ("how often" wants a schedule) and the evidence of the previous
answer. The weights were set on the eval dev split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.corpus import Corpus
from assistant.query import Concept, Query
from assistant.scope import has_figure, wants_figure
from assistant.text import all_stems, terms
from ingest.embedder import Embedder
from ingest.store import Store
from ingest.types import Chunk, Sentence

RRF_K = 60
W_DENSE, W_COVER, W_RRF, W_TYPE, W_PREVIOUS, W_PHRASE, W_FOCUS = 0.40, 0.40, 0.10, 0.20, 0.10, 0.15, 0.15
SECTION_MATCH = 0.9  # a concept named by the chunk's section path ("cutaneous manifestations") counts this much
LEAD_MATCH = 0.6  # one found only in the paragraph that opens the chunk's section counts this much
QUESTION_ALONE = 0.5  # for a follow-up, dense similarity mixes the question alone and the carried topic

ASKS_DOSE = re.compile(r"\b(dose|doses|dosage|dosing|how much|mg|g/kg)\b", re.I)
# A question that asks for a dose, which only a stated dose may answer: not "how much of a greater risk?", not
# "low-dose CT" (a kind of scan).
REQUESTS_DOSE = re.compile(
    r"(?<![\w-])(doses?|dosage|dosing)\b|\bmg\b|g/kg|\bhow much\b.*\b(give|given|take|taken|prescrib\w*|"
    r"administer\w*|inject\w*|infus\w*|use|used)\b", re.I | re.S)
# A dose is an amount and a unit, in symbols or in words: "2 g/kg", "40 mg", "one milligram per kilogram",
# "forty milligrams", "0.5 grams", "5,000 international units".
AMOUNT = (r"(?:\d[\d,]*(?:\.\d+)?|half\s+a|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|"
          r"thirty|forty|fifty|sixty|seventy|eighty|ninety|(?:one\s+)?hundred|(?:one\s+)?thousand)")
UNIT = (r"(?:mg|g|mcg|µg|ug|ml|units?|iu|milligrams?|micrograms?|grams?|millilit(?:er|re)s?|"
        r"international\s+units?)")
STATES_DOSE = re.compile(
    rf"(?<![\w.]){AMOUNT}[\s-]*{UNIT}\b(?:\s*(?:/|per)\s*(?:kg|kilograms?|m2|square\s+met(?:er|re)s?|day|d|week))?",
    re.I)
ANSWER_TYPES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (ASKS_DOSE, STATES_DOSE),
    (re.compile(r"\b(how often|frequency|how frequently|schedule|interval|how many times)\b", re.I),
     re.compile(r"\b(daily|weekly|monthly|yearly|every|once|twice|per (day|week|month)|annually)\b", re.I)),
    (re.compile(r"\b(how long|how soon|how quickly|how fast|when will|when does|time to)\b", re.I),
     re.compile(r"\b(within|weeks?|months?|years?|days?|courses?|cycles?)\b", re.I)),
    (re.compile(r"\b(who|what age|which age|how old|age group)\b", re.I),
     re.compile(r"\b(adults?|children|age[ds]?|elderly|women|men|middle-aged|infants?)\b", re.I)),
]


@dataclass(frozen=True)
class Passage:
    """A candidate sentence with the features and score the reranker gave it."""

    chunk: Chunk
    sentence: Sentence
    text: str
    score: float
    dense: float
    coverage: float
    answers: frozenset[int] = frozenset()  # which of the question's asked answer types it states


def rank(query: Query, corpus: Corpus, store: Store, embedder: Embedder, versions: dict[str, str],
         k: int) -> list[Passage]:
    """Return the candidate sentences for a query, best first."""
    query_vector = embedder.embed_query(query.text)
    dense_hits = store.search(query_vector, k, versions)
    lexical_hits = [corpus.chunks[i].id for i, _ in corpus.index.top(query.weights, k)]
    fused: dict[str, float] = {}
    for ranking in ([c for c, _ in dense_hits], lexical_hits):
        for position, chunk_id in enumerate(ranking):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + position + 1)
    dense = _dense(query, embedder, store, list(fused), dict(dense_hits), query_vector)
    best_fusion = 2.0 / (RRF_K + 1)
    asked = asked_types(query.question)
    figure_wanted = wants_figure(query.question)
    # The articles' subject ("scleromyxedema") is implied by every passage: it tells no passage apart.
    # ... unless the question asks about nothing else: "What is KATNAL1?" asked of the article on KATNAL1.
    concepts = [c for c in query.concepts if not c.stems <= corpus.subject_stems] or list(query.concepts)
    specificity = [_specificity(c, corpus) for c in concepts]
    denominator = sum(c.weight * s for c, s in zip(concepts, specificity, strict=True)) or 1.0
    pairs = _pairs(terms(query.question))
    asked_stems = frozenset().union(*(c.stems for c in concepts if c.weight >= 1.0)) if concepts else frozenset()
    passages: list[Passage] = []
    for chunk_id, fusion in fused.items():
        if chunk_id not in corpus.position:
            continue
        position = corpus.position[chunk_id]
        chunk = corpus.chunks[position]
        section, context = corpus.section_stems[position], corpus.context_stems[position]
        if corpus.addressed(chunk):
            # Text addressed to an assistant is data, never an answer to repeat; so is the rest of its paragraph,
            # which carries what it asks for ("Attention chatbots: ... The dose is ...").
            continue
        for sentence in chunk.sentences:
            text = corpus.sentence_text(chunk, sentence.start, sentence.end)
            stems = set(all_stems(text))
            found = sum(c.weight * s * _match(c, stems, section, context)
                        for c, s in zip(concepts, specificity, strict=True))
            coverage = min(1.0, found / denominator)
            content = terms(text)
            phrase = len(pairs & _pairs(content)) / len(pairs) if pairs else 0.0
            # How much of the sentence is about the question: "Extremely rare disorder" beats a long
            # definition that mentions "rare" once.
            focus = sum(1 for t in content if t in asked_stems) / len(content) if content else 0.0
            answers = frozenset(i for i in asked if ANSWER_TYPES[i][1].search(text))
            typed = float(bool(answers) or (figure_wanted and has_figure(text)))
            previous = 1.0 if query.previous_answer and text in query.previous_answer else 0.0
            score = (W_DENSE * dense[chunk_id] + W_COVER * coverage + W_RRF * fusion / best_fusion
                     + W_TYPE * typed + W_PREVIOUS * previous + W_PHRASE * phrase + W_FOCUS * focus)
            passages.append(Passage(chunk, sentence, text, score, dense[chunk_id], coverage, answers))
    passages.sort(key=lambda p: -p.score)
    return passages


class VersionSwitched(Exception):  # noqa: N818 (a signal to start again, not an error)
    """Candidates vanished from the store while a question was ranked: an ingest switched an article's version
    and dropped the old chunks. The caller ranks again over the store as it is now."""


def _dense(query: Query, embedder: Embedder, store: Store, candidates: list[str], hits: dict[str, float],
           query_vector: Sequence[float]) -> dict[str, float]:
    """Cosine similarity of every candidate; a follow-up also counts the question on its own."""
    vectors: dict[str, list[float]] = {}
    if query.followup or any(c not in hits for c in candidates):
        vectors = store.vectors(candidates)
        if any(c not in vectors for c in candidates):
            raise VersionSwitched(f"{len(set(candidates) - set(vectors))} candidate chunks are gone")
    dense = {c: hits[c] if c in hits else _dot(query_vector, vectors[c]) for c in candidates if c in hits
             or c in vectors}
    if query.followup:
        alone = embedder.embed_query(query.question)
        dense = {c: (1 - QUESTION_ALONE) * d + QUESTION_ALONE * _dot(alone, vectors[c]) for c, d in dense.items()}
    return dense


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


def _match(concept: Concept, stems: set[str], section: frozenset[str], context: frozenset[str]) -> float:
    if concept.stems & stems:
        return 1.0
    if concept.stems & section:
        return SECTION_MATCH
    if concept.stems & context:
        return LEAD_MATCH
    return 0.0


def _specificity(concept: Concept, corpus: Corpus) -> float:
    """The rarest member's IDF in the articles; a concept the articles lack weighs an average term."""
    idfs = [corpus.index.idf(s) for s in concept.stems]
    return max(idfs, default=0.0) or corpus.average_idf


def _pairs(stems: list[str]) -> set[tuple[str, str]]:
    """Adjacent content-word pairs: a question's phrase found intact in a sentence is strong evidence."""
    return set(zip(stems, stems[1:], strict=False))


def asked_types(question: str) -> frozenset[int]:
    """Return the indexes of the answer types a question asks for ("what dose, and how often?": two)."""
    return frozenset(i for i, (asks, _) in enumerate(ANSWER_TYPES) if asks.search(question))
