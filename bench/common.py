"""What every benchmark shares: summaries of repeated runs, the machine and its load, child processes."""

from __future__ import annotations

import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
QUIET_ENV = {
    "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false", "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False",
}


def env(**extra: str) -> dict[str, str]:
    """Return the environment for a benchmarked child process: offline, quiet, running from the repo."""
    return {**os.environ, **QUIET_ENV, "PYTHONPATH": str(ROOT), **extra}


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100) by linear interpolation, as numpy's default does."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Figure:
    """One measure repeated over runs: its median and range, with a unit and the run values."""

    name: str
    unit: str
    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median over runs."""
        return statistics.median(self.runs)

    def cell(self, digits: int = 1) -> str:
        """Return 'median (min-max) unit' for tables."""
        if len(self.runs) == 1:
            return f"{self.runs[0]:,.{digits}f} {self.unit}".strip()
        return (f"{self.median:,.{digits}f} ({min(self.runs):,.{digits}f}-{max(self.runs):,.{digits}f}) "
                f"{self.unit}").strip()

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form written to the results file."""
        return {"name": self.name, "unit": self.unit, "median": self.median, "min": min(self.runs),
                "max": max(self.runs), "runs": list(self.runs)}


def figure(name: str, unit: str, runs: Sequence[float]) -> Figure:
    """Return a Figure from per-run values."""
    return Figure(name, unit, tuple(float(r) for r in runs))


def loadavg() -> str:
    """Return the 1, 5 and 15-minute load averages."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def load1() -> float:
    """Return the 1-minute load average (0 when unknown)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError):
        return 0.0


def machine() -> dict[str, str]:
    """Describe the machine: CPU model, cores, RAM, OS and the versions that matter."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "n/a"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions = {}
    for package in ("torch", "sentence_transformers", "chromadb"):
        try:
            from importlib.metadata import version

            versions[package] = version(package.replace("_", "-"))
        except Exception:  # an absent package is reported, not fatal
            versions[package] = "absent"
    return {
        "cpu": model, "cores": str(os.cpu_count()), "ram": memory,
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        **versions,
    }


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Return this process's current resident memory in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_json(args: Sequence[str], timeout: float, **extra_env: str) -> dict[str, Any]:
    """Run a benchmark child (`python -m bench.X ...`) and return the JSON object it prints last."""
    result = subprocess.run([PYTHON, *args], capture_output=True, text=True, env=env(**extra_env), cwd=ROOT,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    last = [line for line in result.stdout.splitlines() if line.startswith("{")][-1]
    return dict(json.loads(last))


def stop(process: subprocess.Popen[Any]) -> None:
    """Terminate a server process, killing it if it has not exited after 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def say(text: str) -> None:
    """Print a progress line at once (the runs take minutes)."""
    print(text, flush=True)


def elapsed_ms(start: float) -> float:
    """Return milliseconds since a perf_counter() reading."""
    return (time.perf_counter() - start) * 1000


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """Run `chroma run` (shipped in the chromadb wheel) on a free loopback port; yield its URL."""
    import urllib.request

    port = free_port()
    server = subprocess.Popen([str(Path(PYTHON).with_name("chroma")), "run", "--path", str(path), "--host",
                               "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chroma run did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        stop(server)
