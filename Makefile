# citechat: `make run` sets everything up and serves the chat; `make test` runs the checks CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install run ingest chat test lint typecheck pytest eval eval-gate clean

install: $(STAMP)

# CPU torch first: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml requirements-torch-cpu.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --retries 0 -r requirements-torch-cpu.txt
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

ingest: install
	$(BIN)/citechat ingest ingest/bundled

run: ingest
	$(BIN)/citechat serve

chat: install
	$(BIN)/citechat chat

lint: install
	$(BIN)/ruff check ingest assistant ui eval tests

typecheck: install
	$(BIN)/mypy

pytest: install browser
	$(BIN)/pytest -q

# Debian's Chromium for the browser tests (playwright drives it; it never downloads a browser).
.PHONY: browser screenshots
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "browser: could not install chromium (run as root); the browser tests will be skipped"

# Refresh the README's screenshots of the chat page and of the widget embedded in examples/embed.html.
screenshots: install browser
	CITECHAT_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_browser_embed.py

# The grounding suite on the test split, in a throwaway store of the bundled article; exits 1 below the
# bounds in eval/thresholds.toml; then the multi-article suite (49 COVID-QA research articles in one store, expert
# questions, a BM25 baseline beside it), gated by eval/thresholds-covidqa.toml. `make eval` also writes reports.
EVAL := $(BIN)/citechat eval --split test --articles ingest/bundled

eval: install
	$(EVAL) --json reports/eval.json --report reports/eval.html
	$(BIN)/citechat eval --suite covidqa --json reports/eval-covidqa.json

eval-gate: install
	$(EVAL)
	$(BIN)/citechat eval --suite covidqa

test: lint typecheck pytest eval-gate

# Benchmarks (never part of `make test`): cold start, warm answers, ingest throughput, retrieval at scale on the
# Python documentation (Debian's python3-doc), HTTP throughput. Medians and min-max over BENCH_RUNS rounds;
# results also go to reports/bench-*.json. Quicker: make bench BENCH_SIZES=1000,10000 BENCH_RUNS=3
# Embedded scale corpora are cached in BENCH_CACHE (default ~/.cache/citechat/bench): the first 100k-chunk
# run embeds for about 20 minutes on two quiet cores, later runs reuse the vectors and the stores.
BENCH_SIZES ?= 10000,100000
BENCH_RUNS ?= 5
BENCH_ONLY ?= cold,warm,ingest,scale,http
.PHONY: bench bench-corpus
bench: install bench-corpus
	$(BIN)/python -m bench --sizes $(BENCH_SIZES) --runs $(BENCH_RUNS) --only $(BENCH_ONLY)

bench-corpus:
	test -d /usr/share/doc/python3-doc/html || (apt-get update -qq && apt-get install -y -qq python3-doc) \
		|| echo "bench: could not install python3-doc (run as root, or: sudo apt-get install python3-doc)"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
