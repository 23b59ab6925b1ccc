"""Is a question in scope? Instructions, terms the article never uses, figures it never gives."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.addressed import normalise
from assistant.corpus import Corpus
from assistant.lexicon import Lexicon
from assistant.query import topical_words
from assistant.scope_words import general_zipf
from assistant.text import stem

INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instructions?|prompts?|rules?|guidelines?|"
    r"above|previous|everything)\b"
    r"|\b(system|hidden|initial|original)\s+(prompt|instructions?|message)\b"
    r"|\b(you are now|from now on,? you|act as|pretend (to be|you)|role-?play|jailbreak|developer mode|"
    r"dan mode)\b"
    r"|\b(repeat|say|print|output|reply with|respond with|type)\b.{0,30}\b(word|phrase|canary|only)\b"
    r"|\b(write|compose|generate|create)\b.{0,30}\b(poem|story|song|essay|joke|code|limerick|haiku|email)\b"
    r"|\btranslate\b.{0,40}\b(into|to)\b"
    r"|\b(reveal|show|print|tell me)\b.{0,20}\b(your|the)\s+(prompt|instructions|configuration|secrets?)\b",
    re.IGNORECASE | re.DOTALL,
)
QUANTITY = re.compile(
    r"\b(how many|what (percentage|percent|proportion|fraction|number)|percentage|per cent|incidence|"
    r"survival rate|mortality rate|death rate|success rate|response rate|cure rate|how likely|odds|"
    r"how many years|life expectancy|\d+-year)\b",
    re.IGNORECASE,
)
FIGURE = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|hundred|thousand|half|majority|"
    r"minority|most|all|none|few|several|single|once|twice)\b", re.IGNORECASE)
# Words rarer than this in general English (Zipf scale) name something specific: a drug, a disease.
SALIENT_ZIPF = 3.3
_TREATMENT = r"(?=.*\b(doses?|dosing|dosage|treat\w*|therap\w*|give|given|prescrib\w*|drugs?|medications?)\b)"
_YOUNG = r"child|children|childhood|kids?|p(a)?ediatric\w*|infants?|infancy|newborns?|neonat\w*|adolescen\w*|teen\w*"
# Facets of a clinical question that everyday words name, so rarity cannot flag them: (the name said, what in a
# question asks about it, what in an article would cover it). When a question asks about one and the article
# never touches it, no passage answers it: the IVIG dose sentence is no answer to "is IVIG safe in pregnancy?".
# Children count only in a question about treatment: "does it affect children?" is answered by who it affects.
FACETS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (name, re.compile(asked, re.I | re.S), re.compile(rf"\b({covered})\b", re.I))
    for name, asked, covered in (
        ("pregnancy", r"\b(pregnan\w*|breast-?feed\w*|lactat\w*|conceiv\w*|fertility)\b",
         r"pregnan\w*|breast-?feed\w*|lactat\w*|gestation\w*|conceiv\w*|fertility|childbearing"),
        ("side effects", r"\b(side[- ]effects?|adverse (effects?|events?|reactions?)|toxicit\w*|safe|safety)\b",
         r"side[- ]effects?|adverse|toxicit\w*|safe|safety|complications? of (treatment|therapy)|tolerat\w*"),
        ("treatment of children", rf"^{_TREATMENT}.*\b({_YOUNG})\b", _YOUNG),
        ("costs", r"\b(costs?|price|expensive|cheap|afford\w*|insurance|reimburs\w*)\b",
         r"costs?|price|expensive|afford\w*|insurance|reimburs\w*"),
        ("imaging", r"\b(imaging|x-?rays?|radiograph\w*|ultrasound|mri|ct|scans?|echocardiogra\w*)\b",
         r"imaging|x-?rays?|radiograph\w*|ultrasound|mri|ct|scans?|echocardiogra\w*|tomograph\w*"),
        ("diet", r"\b(diet\w*|foods?|eat|eating|nutrition\w*|supplements?)\b",
         r"diet\w*|foods?|nutrition\w*|supplements?"),
        ("exercise", r"\b(exercis\w*|sports?|physiotherap\w*|physical therapy)\b",
         r"exercis\w*|physiotherap\w*|physical therapy|rehabilitation"),
        ("vaccination", r"\b(vaccin\w*|immuni[sz]ation)\b", r"vaccin\w*|immuni[sz]ation"),
        ("contagion", r"\b(contagious|catching|spread (it )?to (others|family|people))\b",
         r"contagious|transmi\w*|infectious"),
    )
)


# "dose of prednisone", "the methotrexate dose": the word whose dose is asked ("dose for children" is no drug).
DOSE_OF = (re.compile(r"\b(?:doses?|dosage|dosing)\s+of\s+(?:the\s+|a\s+|an\s+)?([a-z][\w-]*)", re.I),
           re.compile(r"\b([a-z][\w-]*)\s+(?:doses?|dosage|dosing)\b", re.I))
DOSE_MODIFIERS = frozenset("""usual recommended standard typical starting initial maximum max minimum min high low
daily weekly monthly loading maintenance total effective right correct optimal appropriate exact same next""".split())
NEAR_DOSE_CHARS = 60  # a dose belongs to a drug named this close to it ("IVIG) at 2 g/kg")
_WORD = re.compile(r"[A-Za-z][\w-]*")


def dose_target(question: str) -> str | None:
    """Return the word whose dose the question asks for, or None ("What dose?" names none)."""
    for pattern in DOSE_OF:
        for match in pattern.finditer(question):
            word = match.group(1).lower()
            if word in topical_words(word) and word not in DOSE_MODIFIERS:
                return word
    return None


def stated_near(text: str, pattern: re.Pattern[str], stems: set[str], window: int = NEAR_DOSE_CHARS) -> bool:
    """Return True when the pattern matches within `window` characters of a word whose stem is in `stems`."""
    spots = [m.start() for m in _WORD.finditer(text) if stem(m.group().lower()) in stems]
    return any(min(abs(spot - found.start()), abs(spot - found.end())) <= window
               for found in pattern.finditer(text) for spot in spots)


def missing_facets(question: str, article_texts: Sequence[str]) -> list[str]:
    """Return the facets the question asks about (pregnancy, side effects, costs...) that no article touches."""
    return [name for name, asked, covered in FACETS
            if asked.search(question) and not any(covered.search(text) for text in article_texts)]


def is_instruction(question: str) -> bool:
    """Return True when the input tries to instruct the assistant rather than ask about the article.

    Matched as article text is (assistant/addressed.py), so a soft hyphen or a zero-width space hides nothing.
    """
    return bool(INSTRUCTION.search(normalise(question)))


def wants_figure(question: str) -> bool:
    """Return True when the question asks for a number (a rate, a percentage, a count)."""
    return bool(QUANTITY.search(question))


def has_figure(text: str) -> bool:
    """Return True when a passage states a number or a quantity ("three courses", "the majority")."""
    return bool(FIGURE.search(text))


@dataclass(frozen=True)
class TermCheck:
    """The question's topical words and those of them the articles never use."""

    topical: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def salient_missing(self) -> list[str]:
        """Missing words rare in general English (drugs, diseases, procedures); short abbreviations aside."""
        return [w for w in self.missing if len(w) > 3 and w.isalpha() and general_zipf(w) < SALIENT_ZIPF]

    @property
    def nothing_known(self) -> bool:
        """True when the question names topics and the articles use none of them."""
        return bool(self.topical) and len(self.missing) == len(self.topical)


def check_terms(question: str, corpus: Corpus, lexicon: Lexicon) -> TermCheck:
    """Return which topical words of the question the articles use, the articles' own subjects aside.

    A word counts as used when it, its stem, a near spelling or a lexicon synonym occurs in the articles.
    """
    topical = [w for w in topical_words(question) if stem(w) not in corpus.subject_stems]
    missing = []
    for word in topical:
        stem_ = stem(word)
        if corpus.knows(word, stem_):
            continue
        if any(s in corpus.index.postings for s in lexicon.synonyms_of(stem_)):
            continue
        missing.append(word)
    return TermCheck(tuple(topical), tuple(missing))
