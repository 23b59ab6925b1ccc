"""History-aware queries: a follow-up borrows the topic of the turns before it and their evidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.lexicon import Lexicon
from assistant.text import QUESTION_FRAME, STOPWORDS, stem, words

ANAPHORA = frozenset("it its it's this that these those they them their there he she his her one such".split())
CONTINUATION = re.compile(r"^\s*(and|but|also|so|or|what about|how about|and what about|what of|then)\b", re.I)
MARKER = re.compile(r"\s*\[\d+\]")

OWN_WEIGHT = 1.0
RELATED_WEIGHT = 0.5  # lexical-index weight of a synonym the question did not use itself
CARRIED_WEIGHT = 0.6
CARRIED_WEIGHT_BESIDE_OWN_TOPIC = 0.35  # "And the kidneys?": the new topic leads, the old one frames it
CARRY_DECAY = 0.7
MAX_CARRIED_TURNS = 3


@dataclass(frozen=True)
class Concept:
    """Something the question asks about: a word with its synonyms, any of which a passage may use."""

    stems: frozenset[str]
    weight: float


@dataclass(frozen=True)
class Query:
    """What retrieval searches for: the question, the topic carried from earlier turns, weighted concepts."""

    question: str
    text: str
    concepts: tuple[Concept, ...]
    topical: tuple[str, ...]
    followup: bool
    carried: tuple[str, ...] = ()
    previous_answer: str = ""

    @property
    def weights(self) -> dict[str, float]:
        """Stem weights for the lexical index: a concept's own words count more than its synonyms."""
        weights: dict[str, float] = {}
        for concept in self.concepts:
            for s in concept.stems:
                weights[s] = max(weights.get(s, 0.0), concept.weight * RELATED_WEIGHT)
        for concept, own in self._own_stems():
            weights[own] = max(weights.get(own, 0.0), concept.weight)
        return weights

    def _own_stems(self) -> list[tuple[Concept, str]]:
        said = {stem(w) for w in words(" ".join([self.question, *self.carried]))}
        return [(c, s) for c in self.concepts for s in c.stems if s in said]


def topical_words(question: str) -> list[str]:
    """Return the question's words that name a topic (not stop words or question framing)."""
    return [w for w in words(question)
            if w not in STOPWORDS and w not in QUESTION_FRAME and not w.isdigit() and len(w) > 1]


def is_followup(question: str, has_history: bool) -> bool:
    """Return True when a question leans on the conversation: pronouns, 'and ...?', or no topic of its own."""
    if not has_history:
        return False
    tokens = words(question)
    return bool(CONTINUATION.match(question) or ANAPHORA.intersection(tokens) or not topical_words(question))


def build_query(question: str, history: Sequence[dict[str, str]], lexicon: Lexicon) -> Query:
    """Return the retrieval query for a question asked after `history` (oldest message first)."""
    user_turns = [m["content"] for m in history if m["role"] == "user"]
    followup = is_followup(question, bool(user_turns))
    carried: list[str] = []
    if followup:
        # Walk back to the turn that set the topic: the first one that stands on its own.
        for earlier in reversed(user_turns[-MAX_CARRIED_TURNS * 3:]):
            carried.append(earlier)
            if not is_followup(earlier, True) or len(carried) >= MAX_CARRIED_TURNS:
                break
    concepts: dict[frozenset[str], float] = {}
    for stems in lexicon.concepts(question):
        concepts[stems] = OWN_WEIGHT
    carried_weight = CARRIED_WEIGHT_BESIDE_OWN_TOPIC if topical_words(question) else CARRIED_WEIGHT
    for distance, earlier in enumerate(carried):
        weight = carried_weight * CARRY_DECAY ** distance
        for stems in lexicon.concepts(earlier):
            concepts[stems] = max(concepts.get(stems, 0.0), weight)
    previous_answer = ""
    if followup:
        previous_answer = next((m["content"] for m in reversed(history) if m["role"] == "assistant"), "")
    return Query(
        question=question,
        text=" ".join([question, *reversed(carried)]) if carried else question,
        concepts=tuple(Concept(stems, weight) for stems, weight in concepts.items()),
        topical=tuple(stem(w) for w in topical_words(question)), followup=followup,
        carried=tuple(carried), previous_answer=MARKER.sub("", previous_answer),
    )
