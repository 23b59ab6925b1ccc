"""What a saved article page carries besides the article: site chrome, disclaimers, promos."""

from __future__ import annotations

import re

# Blocks that are page furniture, never article content.
CHROME = [re.compile(p, re.IGNORECASE) for p in (
    r"^medical advisory board",
    r"^all articles are reviewed",
    r"^educational purpose only",
    r"^article review status$",
    r"^(submitted|under review|approved|draft|published)$",
    r"^last updated:",
    r"view editorial policy$",
    r"^personali[sz]e$",
    r"^help us tailor your experience$",
    r"^which best describes you\?",
    r"^(share|print|save|bookmark|subscribe|sign in|log in|sign up|menu|search|skip to (main )?content)$",
    r"^(cookie|we use cookies)",
    r"^advertisement$",
    r"^table of contents$",
    r"^(back to )?top$",
    r"^suggested citation for this article$",
    r"^author affiliations?:",
)]

# Headings after which the article body is over.
END_OF_BODY = re.compile(r"^(references|bibliography|sources|citations)$", re.IGNORECASE)
DISCLAIMER_HEADING = re.compile(r"^(professional )?(medical )?disclaimer$", re.IGNORECASE)
PROMO_HEADING = re.compile(
    r"^(have a (follow[- ]up )?question\??|ask (a|any) (follow[- ]up )?question|related articles|"
    r"you might also like|more from)", re.IGNORECASE
)
UPDATED = re.compile(r"last updated:\s*([A-Z][a-z]+ \d{1,2}, \d{4}|\d{4}-\d{2}-\d{2})", re.IGNORECASE)


def is_chrome(text: str) -> bool:
    """Return True when a block is site chrome rather than article content."""
    return any(p.search(text) for p in CHROME)


def last_updated(text: str) -> str:
    """Return the 'Last updated' date the page shows, or ''."""
    match = UPDATED.search(text)
    return match.group(1) if match else ""
