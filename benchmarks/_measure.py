"""Run a Python snippet in a fresh subprocess and measure wall seconds and peak RSS; read
this process's own resident set (:func:`rss_mb`, :func:`peak_rss_mb`).

Peak memory is the child's own ``ru_maxrss`` (resident set, includes the interpreter and
libraries): the snippet ends with :data:`PEAK_SNIPPET`, which prints it, so each run is
measured alone.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time


def run_measured(code: str, *args: str, env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of ``python -c code args...``; the peak is what
    the snippet printed as ``PEAK_RSS_KB=`` (:data:`PEAK_SNIPPET`), NaN if it printed none."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    text = out.decode()
    peak_mb = float("nan")
    for line in text.splitlines():
        if line.startswith("PEAK_RSS_KB="):
            peak_mb = int(line.split("=", 1)[1]) / 1024
    return wall, peak_mb, text


PEAK_SNIPPET = "\nimport resource; print('PEAK_RSS_KB=%d' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"


def rss_mb() -> float:
    """This process's resident set now (``VmRSS`` of /proc/self/status), in MB (2**20 bytes);
    NaN where /proc does not say."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident set so far (``ru_maxrss``, which Linux gives in KB), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
