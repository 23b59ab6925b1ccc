"""Warm answers: latency of `Assistant.ask` over the eval conversations, next to one query embedding.

Every eval conversation is played with its history, as a user would; the query-embedding cache is cleared
before each question so every answer pays for embedding its question. Right after each answer the same
question is embedded once more on its own: the ratio compares the two under the same load.
Prints one JSON line: per-run p50/p95 of answers and of embeddings.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import chroma_server, elapsed_ms, percentile
from bench.queries import conversations


def run(runs: int, server: bool = False) -> dict[str, object]:
    """Play the eval conversations `runs` times; return per-run percentiles.

    With `server`, the store is a `chroma run` on loopback (CITECHAT_CHROMA_URL) instead of the embedded one.
    """
    with tempfile.TemporaryDirectory(prefix="citechat-bench-warm-") as tmp:
        if not server:
            return _run(runs, Path(tmp), None)
        with chroma_server(Path(tmp) / "server") as url:
            return _run(runs, Path(tmp), url)


def _run(runs: int, home: Path, chroma_url: str | None) -> dict[str, object]:
    from assistant import Assistant, CitechatError
    from ingest.settings import Settings

    bot = Assistant.load(Settings(home=home, chroma_url=chroma_url))  # type: ignore[call-arg]
    cases = conversations()
    answer_p50, answer_p95, embed_p50, embed_p95, ratio = [], [], [], [], []
    count = 0
    for _ in range(runs):
        answers: list[float] = []
        embeds: list[float] = []
        for questions in cases:
            history: list[dict[str, str]] = []
            for question in questions:
                bot.embedder.embed_query.cache_clear()
                start = time.perf_counter()
                try:
                    reply = bot.ask(question, history)
                except CitechatError:  # the eval set holds inputs the assistant must refuse
                    reply = None
                answers.append(elapsed_ms(start))
                start = time.perf_counter()
                bot.embedder._embed_query(question)
                embeds.append(elapsed_ms(start))
                if reply is not None:
                    history += [{"role": "user", "content": question},
                                {"role": "assistant", "content": reply.answer}]
        count = len(answers)
        answer_p50.append(percentile(answers, 50))
        answer_p95.append(percentile(answers, 95))
        embed_p50.append(percentile(embeds, 50))
        embed_p95.append(percentile(embeds, 95))
        ratio.append(answer_p50[-1] / embed_p50[-1])
    return {"questions": count, "answer_p50_ms": answer_p50, "answer_p95_ms": answer_p95,
            "embed_p50_ms": embed_p50, "embed_p95_ms": embed_p95, "ratio_p50": ratio}


def main() -> None:
    """Print the warm-answer figures as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.warm")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server", action="store_true", help="store on a `chroma run` server on loopback")
    args = parser.parse_args()
    print(json.dumps(run(args.runs, args.server)), flush=True)


if __name__ == "__main__":
    main()
