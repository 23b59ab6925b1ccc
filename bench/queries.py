"""Questions for the benchmarks: the eval set's, and questions a reader of the Python documentation asks."""

from __future__ import annotations

import json

from bench.common import ROOT

EVAL_CASES = ROOT / "eval" / "cases" / "scleromyxedema.jsonl"

PYTHON_DOC_QUESTIONS = [
    "How do I read a file line by line?", "What is a generator expression?",
    "How do I sort a list of dictionaries by a key?", "What does the with statement do?",
    "How can I run a subprocess and capture its output?", "What is the difference between a list and a tuple?",
    "How do I parse command line arguments?", "How do I create a virtual environment?",
    "What does the global interpreter lock do?", "How are exceptions chained?",
    "How do I format a date as a string?", "What is a context manager?", "How do I open a socket connection?",
    "How do decorators work?", "What does asyncio.gather do?", "How do I compute a SHA-256 hash?",
    "How do I serialize an object to JSON?", "What is a named tuple?",
    "How can I measure the execution time of small code snippets?", "How do I read a CSV file?",
    "What are f-strings?", "How does garbage collection handle reference cycles?",
    "How do I make an HTTP request with urllib?", "What is the purpose of __init__.py?",
    "How do I define an abstract base class?", "What does the yield statement do?",
    "How do I find all matches of a regular expression?", "How do I start a thread?",
    "What is a lambda expression?", "Why are floating point sums inexact?",
    "How do I read an environment variable?", "What is the difference between is and ==?",
    "How do I copy a directory tree?", "How do I pickle an object?", "How do I write unit tests?",
    "What are type hints?", "How do I log messages to a file?", "What does the walrus operator do?",
    "How do I iterate over two lists at once?", "How can I generate random numbers?",
]


def conversations() -> list[list[str]]:
    """Return the eval set's conversations as lists of questions (the header line skipped)."""
    found = []
    for line in EVAL_CASES.read_text(encoding="utf-8").splitlines():
        case = json.loads(line) if line.strip() else {}
        if "turns" in case:
            found.append([str(turn["question"]) for turn in case["turns"]])
    return found


def eval_questions() -> list[str]:
    """Return every question of the eval set, in order."""
    return [q for conversation in conversations() for q in conversation]
