"""Words: tokenising, stemming and stop words, shared by the lexical index and the coverage checks."""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STEMMER = snowballstemmer.stemmer("english")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been being below
between both but by can can't cannot could did do does doing don't down during each either else ever
every few for from further get gets getting give given gives go goes had has have having he her here
hers herself him himself his how however i if in into is isn't it it's its itself just least less let
like made make many may me might more most much must my myself neither no nor not now of off often on
once only or other others our ours ourselves out over own per please rather really same say says see
seem seems shall she should since so some still such than that that's the their theirs them themselves
then there there's these they this those though through thus to too under until up upon us use used uses
using usually very via was wasn't we were what what's when where whether which while who whom whose why
will with within without would yes yet you your yours yourself tell know explain describe mean means
anything something thing things kind type types way ways article doctor patient patients ok okay
different question questions topic topics switching switch now thanks thank please anyway again briefly
besides except apart aside beyond including include includes involving regarding concerning
overall general generally exactly specifically actually basically
""".split())

# Words that shape a question but carry no topic: a follow-up made only of these leans on the history.
QUESTION_FRAME = frozenset("""
and else also what which how why when where who dose dosage dosing often frequency long much many given
give treat treated treatment treatments therapy therapies affect affected affects involve involved
involvement happen happens common rare serious condition conditions disease disorder illness dangerous
important first before after next then usually typical typically help helps work works good best better
worse option options name called mean role symptom symptoms sign signs finding findings feature features
problem problems about regarding one ones
""".split())


def words(text: str) -> list[str]:
    """Return the lowercase word tokens of a text (hyphens, slashes and punctuation split words)."""
    return WORD.findall(text.lower().replace("’", "'"))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Return the Snowball English stem of one lowercase word."""
    return str(_STEMMER.stemWord(word))


def terms(text: str) -> list[str]:
    """Return the stems of a text's content words, in order, stop words removed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def all_stems(text: str) -> list[str]:
    """Return the stems of every word, stop words kept (for indexing)."""
    return [stem(w) for w in words(text)]
