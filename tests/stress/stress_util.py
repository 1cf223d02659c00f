"""Helpers shared by the stress suite (tests/stress): sizes, figures, fresh processes.

Sizes follow INTERPCLI_STRESS_SCALE (default 1.0: the issue's figures where the machine
allows them); the sanitizer script runs the suite with a smaller scale. Every test writes
its measured figures to stdout (-s shows them) and, when INTERPCLI_STRESS_REPORT names a
file, appends them there as JSON lines (RELIABILITY.md is written from those)."""

from __future__ import annotations

import json
import os
import sys
import threading

from helpers import run_python  # noqa: F401  (the stress tests import it from here)

SCALE = float(os.environ.get("INTERPCLI_STRESS_SCALE", "1"))


def scaled(n: int, minimum: int = 1) -> int:
    return max(minimum, int(n * SCALE))


def report(test: str, **figures) -> None:
    """Record a test's measured figures."""
    figures = {"test": test, "python": "{}.{}.{}".format(*sys.version_info[:3]), **figures}
    line = json.dumps(figures, sort_keys=False)
    print("\nFIGURES " + line)
    path = os.environ.get("INTERPCLI_STRESS_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Runner:
    """Run interp.run(...) in a thread; .result() joins and returns the RunResult."""

    def __init__(self, interp, source, **kw):
        self._box = {}
        self.interp = interp

        def target():
            try:
                self._box["result"] = interp.run(source, **kw)
            except BaseException as exc:  # reported by result()
                self._box["exc"] = exc

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def result(self, timeout: float = 60):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"run in {self.interp!r} did not end in {timeout} s")
        if "exc" in self._box:
            raise self._box["exc"]
        return self._box["result"]
