"""How common a word is in general English: rare words name specific things (drugs, diseases)."""

from __future__ import annotations

from functools import lru_cache

from wordfreq import zipf_frequency


@lru_cache(maxsize=65536)
def general_zipf(word: str) -> float:
    """Return the word's frequency in general English on the Zipf scale (0 = unseen, 7 = 'the')."""
    return float(zipf_frequency(word, "en"))
