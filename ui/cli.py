"""citechat: the command line. Thin: parse arguments, call one library function, print."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.settings import Settings
from ingest.types import CitechatError
from ui import messages

EXIT_USER_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the citechat command line; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        code = int(args.run(args) or 0)
    except CitechatError as exc:
        print(f"citechat: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citechat", description="Ask an article questions; get cited answers.")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="add or update articles (.txt, .md, .html or folders)")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.set_defaults(run=_ingest)

    ask = commands.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--article", help="article slug (default: all ingested articles)")
    ask.add_argument("--json", action="store_true", help="print the reply as JSON")
    ask.set_defaults(run=_ask)

    chat = commands.add_parser("chat", help="a conversation in the terminal")
    chat.add_argument("--article", help="article slug (default: all ingested articles)")
    chat.set_defaults(run=_chat)

    articles = commands.add_parser("articles", help="list the ingested articles")
    articles.add_argument("--json", action="store_true")
    articles.set_defaults(run=_articles)

    serve = commands.add_parser("serve", help="serve the chat page, the widget and the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.set_defaults(run=_serve)

    # eval.cli parses its own options: "+" as the only prefix hands every argument (-h too) through untouched.
    evaluate = commands.add_parser("eval", help="measure answer grounding on a case file; exit 1 below thresholds",
                                   add_help=False, prefix_chars="+")
    evaluate.add_argument("args", nargs=argparse.REMAINDER)
    evaluate.set_defaults(run=_eval)
    return parser


def _ingest(args: argparse.Namespace) -> int:
    from ingest.factory import load_embedder, open_store
    from ingest.pipeline import ingest_paths, read_articles, writer_lock

    settings = Settings()
    for path in args.paths:  # fail on a bad path before loading the model
        if not path.exists():
            raise CitechatError(f"{path}: no such file or folder.")
    articles = read_articles(args.paths, settings)  # and on an unusable file: seconds, not the model's load
    with writer_lock(settings):  # a second writer fails now, not after loading the model
        embedder = load_embedder(settings)
        store = open_store(settings, embedder.name, embedder.dimension)
        bar = _ProgressBar()
        results = ingest_paths(args.paths, settings, store, embedder, progress=bar.update, articles=articles)
        bar.close()
    for result in results:
        print(f"{result.status:9} {result.slug}  ({result.chunks} chunks)  {result.title}")
    return 0


def _assistant(settings: Settings | None = None) -> Any:
    from assistant import Assistant

    return Assistant.load(settings or Settings())


def _ask(args: argparse.Namespace) -> int:
    from assistant.validate import clean_question

    settings = Settings()
    clean_question(args.question, settings.max_question_chars)  # fail fast, before loading the model
    bot = _assistant(settings)
    _say_read_only(bot.store)
    reply = bot.ask(args.question, article=args.article)
    if args.json:
        print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(_render(reply))
    return 0


def _say_read_only(store: Any) -> None:
    if store.read_only:
        print(f"citechat: note: {messages.READ_ONLY_STORE.format(read_only=store.read_only)}.", file=sys.stderr)


def _chat(args: argparse.Namespace) -> int:
    bot = _assistant()
    _say_read_only(bot.store)
    history: list[dict[str, str]] = []
    titles = ", ".join(r.title for r in bot.articles())
    print(f"Ask about: {titles} (an empty line or Ctrl-D ends the chat)\n")
    echo = not sys.stdin.isatty()  # piped input is not shown by the terminal: show it, so transcripts read right
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            return 0
        if echo:
            print(question)
        if not question:
            return 0
        try:
            reply = None
            shown = ""
            print("citechat> ", end="", flush=True)
            # Pieces are verified text; the final reply settles the answer and, after a fallback, replaces them.
            for event in bot.stream(question, history=history, article=args.article):
                if isinstance(event, str):
                    shown += event
                    print(event, end="", flush=True)
                else:
                    reply = event
            print()
        except CitechatError as exc:
            print(f"\n{exc}\n")
            continue
        assert reply is not None
        if reply.answer != shown:
            print(f"citechat> (replaced) {reply.answer}")
        print(_notice(reply) + _sources(reply))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": reply.answer}]


def _articles(args: argparse.Namespace) -> int:
    from ingest.factory import load_embedder, open_store

    settings = Settings()
    embedder = load_embedder(settings)
    store = open_store(settings, embedder.name, embedder.dimension)
    _say_read_only(store)
    records = store.articles()
    if args.json:
        print(json.dumps([{"slug": r.slug, "title": r.title, "chunks": r.chunk_count, "source": r.source,
                           "updated": r.updated} for r in records], indent=2))
    elif not records:
        print("No articles ingested yet: run `citechat ingest PATH`.")
    for record in records if not args.json else []:
        print(f"{record.slug}  {record.title}  ({record.chunk_count} chunks, {record.source})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        from ui.server import serve
    except ImportError as exc:
        raise CitechatError(f"The web server is not available in this install ({exc}).") from exc
    serve(Settings(), host=args.host, port=args.port)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from eval.cli import main as evaluate

    return evaluate(args.args)


def _render(reply: Any) -> str:
    return reply.answer if reply.abstained else f"{reply.answer}\n{_notice(reply)}{_sources(reply)}"


def _notice(reply: Any) -> str:
    return f"  note: {reply.notice}\n" if reply.notice else ""


def _sources(reply: Any) -> str:
    lines = []
    for c in reply.citations:
        refs = f"  (article refs {', '.join(map(str, c.refs))})" if c.refs else ""
        lines.append(f"  [{c.number}] {c.section}{refs}: \"{c.text}\"")
    return "\n".join(lines) + ("\n" if lines else "")


class _ProgressBar:
    """A tqdm bar on stderr for embedding work, shown only when there is enough to wait for."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._articles: dict[str, tuple[int, int]] = {}  # slug -> (chunks staged, chunks in all)

    def update(self, slug: str, done: int, total: int) -> None:
        # Articles are embedded together in lots, so reports interleave: the bar shows their sum.
        self._articles[slug] = (done, total)
        whole = sum(t for _, t in self._articles.values())
        if whole < 200:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=whole, unit="chunk", file=sys.stderr)
        many = len(self._articles)
        self._bar.set_description(f"embedding {slug}" if many == 1 else f"embedding {many} articles", refresh=False)
        self._bar.total = whole
        self._bar.n = sum(d for d, _ in self._articles.values())
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


if __name__ == "__main__":
    raise SystemExit(main())
