"""The scale corpus: the Python documentation from Debian's python3-doc, and a cache of its embeddings.

The HTML pages go through citechat's own HTML path (read, parse, chunk). Embedding 100k chunks with MiniLM
takes about 20 minutes on two cores, so vectors are cached by the SHA-1 of the exact text embedded, under the
model's name: a rerun, or a smaller size, embeds nothing it has seen.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from platformdirs import user_cache_dir

DOC_ROOTS = [Path("/usr/share/doc/python3-doc/html"), *sorted(Path("/usr/share/doc").glob("python3.*-doc/html"))]
SKIP_PAGES = ("genindex", "py-modindex", "search", "download")  # index pages: lists of names, not prose
# Prose first: a 10k-chunk corpus is the tutorial, HOWTOs, FAQ, language and library reference, not the C API.
PAGE_ORDER = ("tutorial-", "howto-", "faq-", "reference-", "library-", "using-", "extending-", "installing-")


def page_order(path: Path) -> tuple[int, str]:
    """Sort key of a staged page: its part of the documentation, then its name."""
    rank = next((i for i, prefix in enumerate(PAGE_ORDER) if path.name.startswith(prefix)), len(PAGE_ORDER))
    return rank, path.name


def cache_dir() -> Path:
    """Return the bench cache folder (BENCH_CACHE, else the user cache dir), created if needed."""
    path = Path(os.environ.get("BENCH_CACHE") or Path(user_cache_dir("citechat")) / "bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def doc_root(install: bool = True) -> Path:
    """Return the python3-doc HTML folder, installing the Debian package when it is missing and allowed."""
    for root in DOC_ROOTS:
        if root.is_dir() and any(root.glob("*.html")):
            return root.resolve()
    if install and shutil.which("apt-get") and os.geteuid() == 0:
        print("bench: installing Debian's python3-doc (the scale corpus) ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "python3-doc"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return doc_root(install=False)
    raise SystemExit("bench: the scale corpus needs the Python documentation: `sudo apt-get install python3-doc` "
                     "(Debian/Ubuntu), then run `make bench` again.")


def staged_pages(root: Path) -> Path:
    """Return a flat folder of links to the doc pages, named by their path ("library-os.html").

    citechat names an article after its file; the docs have several index.html, so each page gets a unique
    name. The links keep the bytes read identical to the package's files.
    """
    pages = sorted(p for p in root.rglob("*.html") if not p.name.startswith(SKIP_PAGES))
    digest = hashlib.sha1("\n".join(str(p) for p in pages).encode()).hexdigest()[:12]
    stage = cache_dir() / f"pages-{digest}"
    if not (stage / ".complete").exists():
        stage.mkdir(parents=True, exist_ok=True)
        for page in pages:
            name = "-".join(page.relative_to(root).with_suffix("").parts) + ".html"
            link = stage / name
            if not link.exists():
                link.symlink_to(page)
        (stage / ".complete").write_text(str(len(pages)))
    return stage


def corpus_key(files: Sequence[Path]) -> str:
    """Return a digest of the page files (names and sizes) and the ingest pipeline version."""
    from ingest.pipeline import PIPELINE_VERSION

    parts = [PIPELINE_VERSION] + [f"{f.name}:{f.stat().st_size}" for f in files]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def chunk_counts(stage: Path) -> list[tuple[Path, int]]:
    """Return each page with the number of chunks citechat makes of it, cached by corpus key."""
    from ingest.chunk import chunk_article
    from ingest.parse import parse_file_text
    from ingest.reader import read_article_file

    files = sorted((p for p in stage.iterdir() if p.suffix == ".html"), key=page_order)
    index = cache_dir() / f"chunk-counts-{corpus_key(files)}.tsv"
    if index.exists():
        counts = dict(line.split("\t") for line in index.read_text().splitlines())
        return [(f, int(counts[f.name])) for f in files if f.name in counts]
    found: list[tuple[Path, int]] = []
    for path in files:
        try:
            article = parse_file_text(read_article_file(path, 50_000_000), name=path.name)
        except Exception:  # a page without article text is left out, as ingest would refuse it
            continue
        found.append((path, len(chunk_article(article, "count"))))
    index.write_text("".join(f"{p.name}\t{n}\n" for p, n in found))
    return found


def pages_for(stage: Path, size: int) -> tuple[list[Path], int]:
    """Return the first pages (prose first, see PAGE_ORDER) holding at least `size` chunks, and their total."""
    chosen: list[Path] = []
    total = 0
    for path, count in chunk_counts(stage):
        if total >= size:
            break
        chosen.append(path)
        total += count
    if total < size:
        raise SystemExit(f"bench: the Python documentation holds only {total:,} chunks; asked for {size:,}.")
    return chosen, total


class VectorCache:
    """Embeddings by SHA-1 of the text, for one model, saved as NumPy arrays in the bench cache."""

    def __init__(self, model: str, dimension: int) -> None:
        self.path = cache_dir() / f"vectors-{model}-{dimension}.npz"
        self.dimension = dimension
        self._vectors: dict[bytes, np.ndarray] = {}
        self.unsaved = 0
        if self.path.exists():
            saved = np.load(self.path)
            # keys as rows of uint8: NumPy's "S" strings would drop a digest's trailing zero bytes
            self._vectors = {k.tobytes(): v for k, v in zip(saved["keys"], saved["vectors"], strict=True)}

    @staticmethod
    def key(text: str) -> bytes:
        """Return the cache key of a text."""
        return hashlib.sha1(text.encode()).digest()

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, text: str) -> np.ndarray | None:
        """Return the cached vector of a text, or None."""
        return self._vectors.get(self.key(text))

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Remember vectors; `save` writes them."""
        for text, vector in zip(texts, vectors, strict=True):
            self._vectors[self.key(text)] = np.asarray(vector, dtype=np.float32)
        self.unsaved += len(texts)

    def save(self) -> None:
        """Write the cache (atomically: a killed run leaves the previous file)."""
        if not self.unsaved:
            return
        keys = list(self._vectors)
        tmp = self.path.with_name(self.path.stem + ".tmp.npz")
        rows = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 20)
        np.savez(tmp, keys=rows, vectors=np.stack([self._vectors[k] for k in keys]))
        tmp.replace(self.path)
        self.unsaved = 0


class CachedEmbedder:
    """An Embedder stand-in for ingest: cached vectors where known, the real model for the rest."""

    def __init__(self, embedder: Any, cache: VectorCache, save_every: int = 5000) -> None:
        self.inner = embedder
        self.name = embedder.name
        self.dimension = embedder.dimension
        self.cache = cache
        self.save_every = save_every
        self.embedded = 0  # texts the model had to embed in this process

    def embed(self, texts: Sequence[str], batch_size: int = 32,
              progress: Callable[[int, int], None] | None = None) -> list[list[float]]:
        """Return one normalised vector per text, embedding only the texts not cached yet."""
        missing = list(dict.fromkeys(t for t in texts if self.cache.get(t) is None))
        if missing:
            vectors = np.asarray(self.inner.embed(missing, batch_size=batch_size), dtype=np.float32)
            self.cache.put(missing, vectors)
            self.embedded += len(missing)
            if self.cache.unsaved >= self.save_every:
                self.cache.save()
                print(f"bench: embedded {self.embedded:,} new chunk texts (cached)", flush=True)
        if progress:
            progress(len(texts), len(texts))
        return [self.cache.get(t).tolist() for t in texts]  # type: ignore[union-attr]

    def embed_query(self, text: str) -> tuple[float, ...]:
        """Embed a query with the real model."""
        return tuple(self.inner.embed_query(text))
