"""`make bench`: cold start, warm answers, ingest throughput, retrieval at scale and HTTP throughput.

Every figure is the median over runs with its min-max; ratios are computed per run between measures taken
side by side, then summarised the same way. The machine and its load average are printed with the results,
which are also written as JSON under reports/. Nothing here asserts a time: targets are reported, not tested.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import cold, http_load
from bench.common import ROOT, Figure, figure, load1, loadavg, machine, run_json, say

SECTIONS = ("cold", "warm", "ingest", "scale", "http")
TARGETS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "ask_ratio": ("<= 1.3x", lambda v: v <= 1.3),
    "warm_p50": ("< 30 ms", lambda v: v < 30),
    "ingest_ratio": (">= 0.8x", lambda v: v >= 0.8),
    "hybrid_p50@100000": ("< 50 ms", lambda v: v < 50),
    "recall@100000": (">= 0.95", lambda v: v >= 0.95),
}


def main() -> None:
    """Run the selected benchmarks and print the results table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts for retrieval at scale")
    parser.add_argument("--runs", type=int, default=5, help="rounds per measure (medians and min-max over them)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--ingest-chunks", type=int, default=2000, help="chunks for the ingest-throughput run")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file (default: reports/bench-*.json)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")

    about = machine()
    say(f"citechat bench, {time.strftime('%Y-%m-%d %H:%M %Z')}")
    say(f"machine: {about['cpu']}, {about['cores']} cores, {about['ram']} RAM, {about['os']}, "
        f"Python {about['python']}, torch {about['torch']}, sentence-transformers {about['sentence_transformers']}, "
        f"chromadb {about['chromadb']}")
    figures: dict[str, Figure] = {}
    notes: list[str] = []
    loads: dict[str, str] = {}
    extra: dict[str, Any] = {}

    def section(name: str, body: Callable[[], None]) -> None:
        if name not in only:
            return
        before = loadavg()
        say(f"\n== {name} (load average {before})")
        start = time.perf_counter()
        body()
        loads[name] = f"{before} -> {loadavg()}"
        say(f"   {name} took {time.perf_counter() - start:.0f} s; load average now {loadavg()}")

    def run_cold() -> None:
        figures.update(cold.run(args.runs))

    def run_warm() -> None:
        data = run_json(["-m", "bench.warm", "--runs", str(args.runs)], timeout=3600)
        figures["warm_p50"] = figure(f"warm answer p50 ({data['questions']} eval questions)", "ms",
                                     data["answer_p50_ms"])
        figures["warm_p95"] = figure("warm answer p95", "ms", data["answer_p95_ms"])
        figures["embed_p50"] = figure("one query embedding p50", "ms", data["embed_p50_ms"])
        figures["warm_ratio"] = figure("warm answer p50 / query embedding p50", "x", data["ratio_p50"])
        data = run_json(["-m", "bench.warm", "--runs", str(args.runs), "--server"], timeout=3600)
        figures["server_p50"] = figure("warm answer p50, store on `chroma run` (loopback)", "ms",
                                       data["answer_p50_ms"])
        figures["server_p95"] = figure("warm answer p95, store on `chroma run` (loopback)", "ms",
                                       data["answer_p95_ms"])

    def run_ingest() -> None:
        data = run_json(["-m", "bench.ingest_rate", "--chunks", str(args.ingest_chunks), "--runs", str(args.runs)],
                        timeout=7200)
        label = f"{data['chunks']:,} chunks, {data['pages']} pages"
        figures["encode_rate"] = figure(f"raw encode ({label})", "chunks/s", data["encode_per_s"])
        figures["ingest_rate"] = figure(f"ingest ({label})", "chunks/s", data["ingest_per_s"])
        figures["ingest_ratio"] = figure("ingest / raw encode", "x", data["ratio"])

    def run_scale() -> None:
        for size in sizes:
            if load1() > 1.5:
                say(f"   note: load average {loadavg()}: timings below share the CPU with other work")
            built = run_json(["-m", "bench.scale", "build", "--size", str(size)], timeout=6 * 3600)
            if built.get("cached"):
                say(f"   {size:,}: cached store of {built['chunks']:,} chunks ({built['pages']} pages)")
            else:
                say(f"   {size:,}: ingested {built['chunks']:,} chunks from {built['pages']} pages in "
                    f"{built['seconds']:.0f} s ({built['embedded']:,} texts embedded, the rest cached); "
                    f"peak RSS {built['peak_rss_mb']:.0f} MiB")
            data = run_json(["-m", "bench.scale", "query", "--size", str(size), "--runs", str(args.runs)],
                            timeout=3 * 3600)
            extra[f"scale{size}"] = data
            n = f"{data['chunks']:,} chunks"
            figures[f"lexical_p50@{size}"] = figure(f"{n}: lexical (BM25) p50", "ms", data["lexical_ms"]["p50"])
            figures[f"lexical_p95@{size}"] = figure(f"{n}: lexical (BM25) p95", "ms", data["lexical_ms"]["p95"])
            figures[f"dense_p50@{size}"] = figure(f"{n}: dense (Chroma) p50", "ms", data["dense_ms"]["p50"])
            figures[f"dense_p95@{size}"] = figure(f"{n}: dense (Chroma) p95", "ms", data["dense_ms"]["p95"])
            figures[f"hybrid_p50@{size}"] = figure(f"{n}: hybrid (fused + reranked) p50", "ms",
                                                   data["hybrid_ms"]["p50"])
            figures[f"hybrid_p95@{size}"] = figure(f"{n}: hybrid p95", "ms", data["hybrid_ms"]["p95"])
            figures[f"ask_p50@{size}"] = figure(f"{n}: whole answer p50", "ms", data["ask_ms"]["p50"])
            hnsw = data["hnsw"]
            index = f"M {hnsw['max_neighbors']}, search_ef {hnsw['ef_search']}"
            recall = data["recall_at_10"]
            figures[f"recall@{size}"] = figure(f"{n}: dense recall@10 vs exact, all {data['queries']} queries "
                                               f"({index})", "", [recall["all"]])
            figures[f"recall_on@{size}"] = figure(f"{n}: recall@10, questions about the docs", "",
                                                  [recall["on_topic"]])
            figures[f"recall_off@{size}"] = figure(f"{n}: recall@10, off-topic (medical) questions", "",
                                                   [recall["off_topic"]])
            figures[f"load@{size}"] = figure(f"{n}: Assistant load (store read + BM25 build)", "s",
                                             [data["load_s"]])
            figures[f"rss@{size}"] = figure(f"{n}: peak RSS (model + Chroma + corpus)", "MiB",
                                            [data["peak_rss_mb"]])
            say(f"   {n}: {data['queries']} queries; recall@10 {recall['all']:.3f}; load {data['load_s']:.1f} s;"
                f" RSS {data['rss_model_mb']:.0f} MiB with the model, {data['rss_loaded_mb']:.0f} MiB loaded, "
                f"peak {data['peak_rss_mb']:.0f} MiB; store {data['store_mb']:.0f} MiB on disk")

    def run_http() -> None:
        figures.update(http_load.run(args.runs))

    for name, body in (("cold", run_cold), ("warm", run_warm), ("ingest", run_ingest), ("scale", run_scale),
                       ("http", run_http)):
        section(name, body)

    say("\n" + table(figures, args.runs))
    for name, change in loads.items():
        notes.append(f"load average (1, 5, 15 min) during {name}: {change}")
    say("\n".join(notes))
    out = args.out or ROOT / "reports" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": about, "runs": args.runs, "loads": loads, "extra": extra,
                               "figures": {k: f.to_dict() for k, f in figures.items()}}, indent=2))
    say(f"results: {out}")


def table(figures: dict[str, Figure], runs: int) -> str:
    """Return the Markdown results table: median (min-max) over runs, and each target's status."""
    lines = [f"| measure | median (min-max) over {runs} runs | target | |", "| --- | --- | --- | --- |"]
    for key, fig in figures.items():
        digits = 3 if key.startswith("recall") else 2 if fig.unit in ("x", "s") else 1
        target, status = "", ""
        if key in TARGETS:
            target, check = TARGETS[key]
            status = "met" if check(fig.median) else "**not met**"
        lines.append(f"| {fig.name} | {fig.cell(digits)} | {target} | {status} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
