"""support: does a set of passages state a claim? An offline, deterministic check for grounding.

A claim is supported by passages (taken together) when

1. no **critical token** of the claim disagrees with them:
   - numbers, with their unit when one follows ("2 g/kg" is not "2 mg/kg"; "five courses" is not
     "three courses"; number words and ordinals count as numbers, "first-line" included),
   - schedule, frequency and population words, matched within small groups of equivalents ("monthly"
     is not "weekly", "rare" is not "common", "majority" says "most", "children" are not "adults"),
   - immunoglobulin isotypes and light chains (IgG, IgA, IgM, IgD, IgE, kappa, lambda),
   - names: a word rarer in general English than once per million words (Zipf < 3: drugs, diseases,
     findings such as "rituximab" or "amyloid") must occur in the passages or be a lexicon synonym of a
     word that does,
   - negation: a content word negated in the claim (within the scope of no, not, never, without,
     absence, unlike, ...) must occur negated in some passage, and one affirmed in the claim affirmed
     in some passage; a negative prefix counts ("insufficient" contradicts "sufficient");
2. and the passages cover enough of the claim's content words: `coverage`, the share of the claim's
   content words (stop words aside, rarer words weighing more: 7 - Zipf, at least 1) found in the
   passages by stem or through a synonym of the lay/clinical lexicon, reaches `threshold`.

Words of `known` (the article's subject, e.g. its title) count as stated: "Scleromyxedema can cause
dysphagia" is supported by "Gastrointestinal: Dysphagia is a prominent symptom" of the scleromyxedema
article. The threshold was calibrated on the dev half of the hand-labelled pairs in
`eval/cases/support_pairs.jsonl` (`python -m eval.calibrate` prints the agreement and confusion counts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.lexicon import Lexicon, load_lexicon
from assistant.scope_words import general_zipf
from assistant.text import STOPWORDS, stem, words

COVERAGE_THRESHOLD = 0.85  # calibrated on the dev half of eval/cases/support_pairs.jsonl
RARE_ZIPF = 3.0  # rarer than once per million words of general English: a name, not an ordinary word
NEGATION_SCOPE = 6  # a cue negates at most this many following words, up to a clause boundary

NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "hundred": "100", "thousand": "1000",
    "half": "0.5", "once": "x1", "twice": "x2", "first": "1st", "second": "2nd", "third": "3rd",
    "fourth": "4th", "fifth": "5th", "1st": "1st", "2nd": "2nd", "3rd": "3rd",
}  # "one" is left out: far more often a pronoun ("one benefit") than a count
UNITS = r"%|percent|mg|mcg|µg|ug|g|kg|ml|l|dl|iu|units?|mmol|µmol|mol|meq|mm|cm|h|hours?|days?|weeks?|months?"
PER = r"kg|m2|m²|day|d|week|wk|h|hour|dose|l|dl|ml|min"
NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)?|" + "|".join(NUMBER_WORDS) + r")(?![\w.]\w)"
    r"(?:\s*(" + UNITS + r")\b(?:\s*/\s*(" + PER + r")\b)?)?",
    re.IGNORECASE,
)
ISOTYPES = frozenset({"igg", "iga", "igm", "igd", "ige", "kappa", "lambda"})
# Words that must agree within a group of equivalents: schedules, how often, how many, and who.
# Frequency adverbs (how often it happens) and prevalence adjectives (how many have it) are kept apart.
AGREEMENT_GROUPS: tuple[frozenset[str], ...] = tuple(frozenset(g.split()) for g in (
    "daily", "weekly", "fortnightly biweekly", "monthly", "yearly annually annual", "hourly",
    "often frequently commonly", "rarely seldom infrequently", "sometimes occasionally", "always", "never",
    "common frequent prevalent", "rare uncommon infrequent rarity", "majority most mostly", "minority few",
    "children child childhood pediatric paediatric kids infants infant neonates neonatal adolescents",
    "adults adult", "elderly older", "women woman female females", "men man male males",
    "pregnant pregnancy",
))
AGREEMENT_WORDS = frozenset().union(*AGREEMENT_GROUPS)
# Words whose opposite in the passages contradicts them: "least effective" against "most effective".
OPPOSITES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(a.split()), frozenset(b.split())) for a, b in (
        ("most", "least"), ("high higher highest", "low lower lowest"), ("more", "less fewer"),
        ("increase increased increases increasing", "decrease decreased decreases decreasing reduce reduced reduction"),
        ("improve improved improves improvement", "worsen worsened worsens worsening deterioration"),
        ("early earlier", "late later delayed"), ("acute", "chronic"), ("benign", "malignant"),
        ("proximal", "distal"), ("generalized generalised widespread", "localized localised"),
    ))
# "per day" says "daily": schedules are compared in one form.
SCHEDULE = [(re.compile(rf"\b(?:per|a|each|every|once a|once per) {unit}\b", re.IGNORECASE), word)
            for unit, word in (("day", "daily"), ("week", "weekly"), ("month", "monthly"), ("year", "yearly"))]
NEGATION_CUES = frozenset(
    "no not never without absence absent unlike none neither nor cannot lack lacks lacking".split())
CLAUSE_END = re.compile(r"[,;:.()!?]|\b(but|however|although|though|while|whereas|yet)\b", re.IGNORECASE)
NEGATIVE_PREFIXES = ("in", "un", "non", "im", "ir", "il")
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class SupportVerdict:
    """Whether passages support a claim, with the evidence: coverage and the critical tokens that disagree."""

    supported: bool
    score: float  # coverage when no critical token disagrees, else 0.0
    coverage: float  # rarity-weighted share of the claim's content words found in the passages
    missing: tuple[str, ...] = ()  # content words of the claim the passages lack
    mismatches: tuple[str, ...] = ()  # critical tokens that disagree, each said in a few words

    @property
    def reason(self) -> str:
        """Return a one-line explanation of the verdict."""
        parts = [f"coverage {self.coverage:.2f}"]
        if self.missing:
            parts.append("missing: " + ", ".join(self.missing))
        if self.mismatches:
            parts.append("critical: " + "; ".join(self.mismatches))
        return ("supported" if self.supported else "not supported") + " (" + "; ".join(parts) + ")"


def support(claim: str, passages: Sequence[str], *, threshold: float = COVERAGE_THRESHOLD,
            known: Iterable[str] = (), lexicon: Lexicon | None = None) -> SupportVerdict:
    """Return whether the passages, taken together, state the claim (see the module docstring)."""
    if not any(p.strip() for p in passages):
        return SupportVerdict(supported=False, score=0.0, coverage=0.0, mismatches=("no passage to check against",))
    lexicon = lexicon or load_lexicon()
    claim, passages = _schedules(claim), [_schedules(p) for p in passages]
    given = {stem(w) for text in known for w in words(text)}
    passage_words = {w for p in passages for w in words(p)}
    passage_stems = {stem(w) for w in passage_words}
    related = set().union(*(lexicon.related(p) for p in passages))
    reachable = passage_stems | related | given

    mismatches = _numbers(claim, passages) + _agreements(claim, passage_words) + _opposites(claim, passage_words)
    mismatches += [f"{w} not in the passages" for w in dict.fromkeys(words(claim))
                   if w in ISOTYPES and w not in passage_words]
    content = [w for w in dict.fromkeys(words(claim))
               if w not in STOPWORDS and not w[0].isdigit() and w not in NUMBER_WORDS]
    total = found = 0.0
    missing: list[str] = []
    for word in content:
        weight = max(1.0, 7.0 - general_zipf(word))
        total += weight
        if stem(word) in reachable or _synonym_reachable(word, lexicon, passage_stems):
            found += weight
            continue
        missing.append(word)
        if word not in ISOTYPES and word not in AGREEMENT_WORDS and general_zipf(word) < RARE_ZIPF:
            mismatches.append(f"{word} not in the passages")
        antonym = _negative_prefix(word, passage_words)
        if antonym:
            mismatches.append(f"{word} contradicts {antonym!r} of the passages")
    mismatches += _polarity(claim, passages, given)
    coverage = found / total if total else 1.0
    supported = not mismatches and coverage >= threshold
    return SupportVerdict(supported=supported, score=0.0 if mismatches else round(coverage, 4),
                          coverage=round(coverage, 4), missing=tuple(missing), mismatches=tuple(mismatches))


def _synonym_reachable(word: str, lexicon: Lexicon, passage_stems: set[str]) -> bool:
    return bool(lexicon.synonyms_of(stem(word)) & passage_stems)


def _numbers(claim: str, passages: Sequence[str]) -> list[str]:
    """Numbers of the claim the passages do not state, or state with another unit."""
    stated = [q for p in passages for q in _quantities(p)]
    problems = []
    for number, unit, said in _quantities_with_text(claim):
        if (number, unit) in stated:
            continue  # a bare number matches only a bare one: "2 corticosteroids" is not "2 g/kg"
        other = [f"{n} {u}".strip() for n, u in stated if n == number]
        problems.append(f"{said} not in the passages" + (f" (they say {other[0]})" if other else ""))
    return problems


def _quantities(text: str) -> list[tuple[str, str]]:
    return [(number, unit) for number, unit, _ in _quantities_with_text(text)]


def _quantities_with_text(text: str) -> list[tuple[str, str, str]]:
    found = []
    for match in NUMBER.finditer(text):
        raw, unit, per = match.group(1).lower(), (match.group(2) or "").lower(), (match.group(3) or "").lower()
        number = NUMBER_WORDS.get(raw, raw.replace(",", ""))
        unit = {"percent": "%", "ug": "µg", "units": "unit"}.get(unit, unit)
        unit = unit.rstrip("s") if unit in {"hours", "days", "weeks", "months"} else unit
        found.append((number, f"{unit}/{per}" if per else unit, match.group(0).strip()))
    return found


def _agreements(claim: str, passage_words: set[str]) -> list[str]:
    """Schedule, frequency and population words of the claim with no equivalent in the passages."""
    problems = []
    for word in dict.fromkeys(words(claim)):
        for group in AGREEMENT_GROUPS:
            if word in group and not group & passage_words:
                problems.append(f"{word} not in the passages")
    return problems


def _opposites(claim: str, passage_words: set[str]) -> list[str]:
    """Words of the claim whose opposite, and not themselves, the passages use."""
    claim_words = set(words(claim))
    problems = []
    for side, other in OPPOSITES + tuple((b, a) for a, b in OPPOSITES):
        said = claim_words & side
        if said and not passage_words & side and passage_words & other:
            problems.append(f"{min(said)} contradicts {min(passage_words & other)!r} of the passages")
    return problems


def _schedules(text: str) -> str:
    for pattern, word in SCHEDULE:
        text = pattern.sub(word, text)
    return text


def _negative_prefix(word: str, passage_words: set[str]) -> str:
    """Return the passage word that is the claim word's opposite by a negative prefix, or ''."""
    for prefix in NEGATIVE_PREFIXES:
        if len(word) >= 5 and prefix + word in passage_words:
            return prefix + word
        if word.startswith(prefix) and len(word) - len(prefix) >= 5 and word[len(prefix):] in passage_words:
            return word[len(prefix):]
    return ""


def _polarity(claim: str, passages: Sequence[str], given: set[str]) -> list[str]:
    """Content words negated in the claim but only affirmed in the passages, or the other way round."""
    in_passages: dict[str, set[bool]] = {}
    for passage in passages:
        for word, negated in _scoped(passage):
            in_passages.setdefault(stem(word), set()).add(negated)
    problems = []
    seen: set[str] = set()
    for word, negated in _scoped(claim):
        key = stem(word)
        if key in seen or key in given or key not in in_passages:
            continue
        seen.add(key)
        if negated not in in_passages[key]:
            problems.append(f"{word} is {'negated' if negated else 'affirmed'} in the claim but "
                            f"{'affirmed' if negated else 'negated'} in the passages")
    return problems


def _scoped(text: str) -> list[tuple[str, bool]]:
    """Return the content words of a text, each with whether a negation cue governs it."""
    lowered = text.lower().replace("’", "'")
    boundaries = [m.start() for m in CLAUSE_END.finditer(lowered)]
    result: list[tuple[str, bool]] = []
    scope_end = -1
    left = 0
    for match in TOKEN.finditer(lowered):
        token = match.group(0)
        if token in NEGATION_CUES or token.endswith("n't"):
            scope_end = next((b for b in boundaries if b > match.end()), len(lowered))
            left = NEGATION_SCOPE
            continue
        negated = match.start() < scope_end and left > 0
        if token in STOPWORDS or token[0].isdigit():
            continue
        if negated:
            left -= 1
        result.append((token, negated))
    return result
