"""The multi-article suite: full-text research articles with questions written by experts (COVID-QA, dev half).

All articles sit in one store, as a site with many articles runs it; each question is asked with `article=` its
own slug and no history. Scored as eval/covidqa/README.md says: an answer "hits" when it holds >= 80% of the gold
answer's tokens; the baseline is Okapi BM25 over the article's own sentences taking as many sentences as
citechat's answer had, measured in the same run. Probes (questions from another article whose key terms this one
lacks) must be answered "not covered".
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.cases import CaseFileError

SUITE_DIR = Path(__file__).with_name("covidqa")
ARTICLES_DIR = SUITE_DIR / "articles"
CASES_FILE = SUITE_DIR / "cases.jsonl"
PROBES_FILE = SUITE_DIR / "probes.jsonl"
HIT_RECALL = 0.8
TOKEN = re.compile(r"[a-z0-9]+")
MARKER = re.compile(r"\s*\[\d+\]")
# Articles, prepositions, auxiliaries, pronouns: what a gold answer's tokens are counted without.
STOP_WORDS = frozenset("""
a an the of in on at to for from by with into onto about as than via per and or but nor
is are was were be been being am do does did has have had will would shall should can could may might must
it its this that these those they them their theirs he him his she her hers we us our ours you your yours i me my
""".split())


def gold_tokens(text: str) -> Counter[str]:
    """Return the tokens a gold answer is scored on (all of them when it holds only stop words)."""
    tokens = TOKEN.findall(text.lower())
    content = [t for t in tokens if t not in STOP_WORDS]
    return Counter(content or tokens)


def recall(gold: str, answer: str) -> float:
    """Return the share of the gold answer's tokens found in the answer (multiset counts, markers removed)."""
    wanted = gold_tokens(gold)
    have = Counter(TOKEN.findall(MARKER.sub("", answer).lower()))
    total = sum(wanted.values())
    return sum(min(count, have[t]) for t, count in wanted.items()) / total if total else 0.0


@dataclass(frozen=True)
class Question:
    """One expert question (or probe) about one article."""

    id: str
    article: str
    question: str
    answer: str = ""  # the gold span; empty for a probe
    probe: bool = False


def load_questions(path: Path, probe: bool = False) -> list[Question]:
    """Return the questions of a JSON-lines file; raises CaseFileError for a malformed line."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            found.append(Question(str(data["id"]), str(data["article"]), str(data["question"]),
                                  "" if probe else str(data["answer"]), probe))
        except (ValueError, KeyError, TypeError) as exc:
            raise CaseFileError(f"{path} line {number}: not a question record ({exc}).") from None
    return found


@dataclass(frozen=True)
class Outcome:
    """What citechat and the baseline did with one question."""

    question: Question
    answer: str
    abstained: bool
    sentences: int
    other_article: bool
    recall: float
    baseline_recall: float
    latency: float

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the outcome."""
        return {"id": self.question.id, "article": self.question.article, "question": self.question.question,
                "gold": self.question.answer, "probe": self.question.probe, "answer": self.answer,
                "abstained": self.abstained, "sentences": self.sentences, "other_article": self.other_article,
                "recall": round(self.recall, 4), "baseline_recall": round(self.baseline_recall, 4),
                "latency_ms": round(self.latency * 1000, 2)}


class Baseline:
    """Okapi BM25 (k1 1.5, b 0.75) over one article's own sentences, joined in reading order."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self.sentences = list(sentences)
        self.docs = [Counter(TOKEN.findall(s.lower())) for s in self.sentences]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.average = sum(self.lengths) / len(self.lengths) if self.lengths else 0.0
        self.df: Counter[str] = Counter(t for d in self.docs for t in d)

    def answer(self, question: str, count: int) -> str:
        """Return the `count` best sentences for a question, in reading order."""
        terms = [t for t in TOKEN.findall(question.lower()) if t not in STOP_WORDS]
        n = len(self.docs)
        scores = []
        for doc, length in zip(self.docs, self.lengths, strict=True):
            score = 0.0
            for t in terms:
                tf = doc.get(t, 0)
                if tf:
                    idf = math.log(1 + (n - self.df[t] + 0.5) / (self.df[t] + 0.5))
                    score += idf * tf * 2.5 / (tf + 1.5 * (0.25 + 0.75 * length / self.average))
            scores.append(score)
        best = sorted(range(n), key=lambda i: -scores[i])[:count]
        return " ".join(self.sentences[i] for i in sorted(best))


def run_suite(bot: Any, questions: Sequence[Question], clock: Callable[[], float] = time.perf_counter,
              progress: Callable[[int, int], None] | None = None) -> list[Outcome]:
    """Ask every question of its own article (no history) and score it beside the baseline."""
    corpus = bot.corpus()
    baselines: dict[str, Baseline] = {}
    outcomes = []
    for done, q in enumerate(questions, start=1):
        if q.article not in corpus.articles:
            raise CaseFileError(f"question {q.id}: article {q.article!r} is not ingested.")
        if q.article not in baselines:
            baselines[q.article] = Baseline([corpus.sentence_text(c, s.start, s.end) for c in corpus.chunks
                                             if c.article == q.article for s in c.sentences])
        started = clock()
        reply = bot.ask(q.question, article=q.article)
        latency = clock() - started
        sentences = 0 if reply.abstained else len(reply.citations)
        score = 0.0 if reply.abstained or q.probe else recall(q.answer, reply.answer)
        base = recall(q.answer, baselines[q.article].answer(q.question, max(sentences, 1))) if not q.probe else 0.0
        outcomes.append(Outcome(q, reply.answer, reply.abstained, sentences,
                                any(c.article != q.article for c in reply.citations), score, base, latency))
        if progress:
            progress(done, len(questions))
    return outcomes


def summarize(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Return the suite's figures: hit, recall, size, refusals, other-article citations, probes, baseline."""
    asked = [o for o in outcomes if not o.question.probe]
    probes = [o for o in outcomes if o.question.probe]
    answered = [o for o in asked if not o.abstained]
    latencies = sorted(o.latency for o in outcomes)

    def share(items: Sequence[Any], test: Callable[[Any], bool]) -> float:
        return sum(1 for o in items if test(o)) / len(items) if items else 0.0

    hit = share(asked, lambda o: o.recall >= HIT_RECALL)
    baseline = share(asked, lambda o: o.baseline_recall >= HIT_RECALL)
    return {
        "questions": float(len(asked)),
        "hit": hit,
        "recall": sum(o.recall for o in asked) / len(asked) if asked else 0.0,
        "baseline_hit": baseline,
        "hit_over_baseline": hit - baseline,
        "sentences_per_answer": sum(o.sentences for o in answered) / len(answered) if answered else 0.0,
        "chars_per_answer": sum(len(o.answer) for o in answered) / len(answered) if answered else 0.0,
        "refusal_rate": share(asked, lambda o: o.abstained),
        "other_article_citations": float(sum(1 for o in outcomes if o.other_article)),
        "probes": float(len(probes)),
        "probe_abstention": share(probes, lambda o: o.abstained),
        "latency_p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0.0,
    }


def default_questions() -> list[Question]:
    """Return the suite's questions and probes."""
    return load_questions(CASES_FILE) + load_questions(PROBES_FILE, probe=True)


THRESHOLDS_FILE = Path(__file__).with_name("thresholds-covidqa.toml")
LOWER_IS_BETTER = frozenset({"refusal_rate", "other_article_citations", "sentences_per_answer"})
GATED = ("hit", "recall", "hit_over_baseline", "refusal_rate", "other_article_citations", "probe_abstention",
         "sentences_per_answer")


def load_bounds(path: Path = THRESHOLDS_FILE) -> dict[str, dict[str, float]]:
    """Return {"min": {...}, "max": {...}} bounds of the suite; raises CaseFileError for an unusable file."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CaseFileError(f"{path}: not a readable thresholds file ({exc}).") from None
    bounds = {kind: {str(k): float(v) for k, v in data.get(kind, {}).items()} for kind in ("min", "max")}
    unknown = sorted((set(bounds["min"]) | set(bounds["max"])) - set(GATED))
    if unknown:
        raise CaseFileError(f"{path}: unknown metric(s) {', '.join(unknown)}; known: {', '.join(GATED)}.")
    return bounds


def reached(summary: dict[str, float]) -> dict[str, dict[str, float]]:
    """Return bounds at the figures a run reached, floored (ceiled under [max]) to 4 decimals; other-article
    citations stay at 0 whatever a run reaches."""
    import math

    bounds: dict[str, dict[str, float]] = {"min": {}, "max": {}}
    for metric in GATED:
        value = summary[metric]
        if metric == "other_article_citations":
            bounds["max"][metric] = 0.0
        elif metric in LOWER_IS_BETTER:
            bounds["max"][metric] = math.ceil(value * 10_000 - 1e-6) / 10_000
        else:
            bounds["min"][metric] = math.floor(value * 10_000 + 1e-6) / 10_000
    return bounds


def table(summary: dict[str, float], bounds: dict[str, dict[str, float]]) -> tuple[str, bool]:
    """Return the printed table of the suite's figures against their bounds, and whether all hold."""
    from eval.gate import Check

    checks = {c.metric: c for kind in ("min", "max") for c in
              (Check(m, summary.get(m), kind, b) for m, b in bounds[kind].items())}
    lines = ["COVID-QA development half: all articles in one store, each question asked of its own article", ""]
    for metric, value in summary.items():
        check = checks.get(metric)
        bound = f"{'>=' if check.kind == 'min' else '<='} {check.bound:.4f}" if check else "(reported)"
        status = ("ok" if check.passed else "FAIL") if check else ""
        lines.append(f"  {metric:28s} {value:10.4f}   {bound:12s} {status}")
    passed = all(c.passed for c in checks.values())
    lines += ["", "PASS" if passed else "FAIL: " + "; ".join(
        f"{c.metric} {c.value:.4f} outside {c.bound}" for c in checks.values() if not c.passed and c.value is not None)]
    return "\n".join(lines), passed
