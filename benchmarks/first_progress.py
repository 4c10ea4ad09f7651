"""Time from starting `vsumgui summarize` to its first progress line (issue #20: <= 0.5 s).

Usage: python benchmarks/first_progress.py [VIDEO] [--runs 3]
Starts `python -m vsumgui summarize VIDEO --no-cache` as a process and reads its stderr; when
the first progress line arrives it notes the wall time and the CPU time the child has used so
far (from /proc: on a machine shared with other work, the CPU time is what the wall time would
be on an idle one), then stops the child.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _media import ROOT, SAMPLE


def child_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video", nargs="?", type=Path, default=SAMPLE)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(args.runs):
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "vsumgui", "summarize", str(args.video), "--no-cache"],
                                 env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = child.stderr.readline()
        wall, used = time.perf_counter() - start, child_cpu(child.pid)
        child.kill()
        child.wait()
        print(f"first progress after {wall:.2f} s wall, {used:.2f} s CPU (load {os.getloadavg()[0]:.1f}): "
              f"{line.strip()[:40]}")


if __name__ == "__main__":
    main()
