"""How many threads decoding and inference get (issue #20: decode and inference overlap)."""

from __future__ import annotations

import os


def cores() -> int:
    """CPU cores this process may run on: its affinity (so `taskset` and pinned containers count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def decode_threads() -> int:
    """FFmpeg decoder threads: VSUMGUI_DECODE_THREADS, else 0: FFmpeg's own choice (one per core
    of the process's affinity, plus one; capped by each decoder).

    Decoding and inference run at once, so together they ask for more threads than cores: the
    scheduler then keeps every core busy in each phase (decoding alone while the network loads,
    inference alone at the end), where a fixed split leaves half the cores idle in those phases.
    Measured on 2 shared cores (1 min of 720p x264, all frames, load 16): 1 thread 1.3-1.6 s CPU
    but 8 s wall, 2 threads 2.3-2.5 s wall, FFmpeg's choice 1.35-2.7 s wall, OpenCV 1.3-1.6 s."""
    return int(os.environ.get("VSUMGUI_DECODE_THREADS", 0))


def inference_threads() -> int:
    """Threads for the backbone in all: VSUMGUI_THREADS, else one per core."""
    return int(os.environ.get("VSUMGUI_THREADS", 0)) or cores()


def inference_split(total: int | None = None) -> tuple[int, int]:
    """(concurrent batches, ONNX Runtime intra-op threads per batch) for `total` threads.

    A small network's layers split over threads wait on each other, whole batches in parallel do
    not (measured on 2 cores: 1 call x 1 thread 12.7 ms/frame, 2 calls x 1 thread 6.4); but a
    video of a few minutes has only some tens of batches, so past 4 concurrent batches the
    threads go inside each call instead."""
    total = total or inference_threads()
    calls = max(1, min(total, 4))
    return calls, max(1, total // calls)


def cut_jobs() -> int:
    """Segments an export cuts at once (each is an ffmpeg process of about one core): this
    process's share of the cores, as for the backbone (VSUMGUI_THREADS; `vsumgui batch` gives
    each worker its share, so N workers do not start N x cores encoders)."""
    return inference_threads()
