"""Live streams under load: this working tree against a baseline commit, interleaved.

Two measures, each for the baseline commit's code (exported with ``git archive``) and this
working tree's, taking turns (ABBA order over ``--repeats``):

* **Concurrent streams** (1, 20, 100, 200 by default): ``coach-api serve`` on loopback
  with the bundled lifter; N sockets stream a real-time 30-fps squat (MediaPipe-33) in
  5-frame batches for ``--seconds``. Rows: p50 / p99 from a batch sent to its
  ``progress`` received, the server's CPU-seconds per stream-second (its process's user
  + system time over the streaming) and its event loop's share of them (the main
  thread's: sockets, decoding and checking frames; the rest is lifting and repetition
  checks on worker threads), and its memory per stream (resident size with the streams
  open, less before, over N). With ``--binary-frames`` this tree's clients send each
  batch as float32 bytes instead of JSON (``--baseline-binary-frames``: the
  baseline's too).
* **Cost per second of stream at minute 1 and minute 10**: in a child process on the
  tree's own code, a live session (bundled models) is filled with 1 or 10 minutes of
  frames the way the socket feeds it (5-frame pushes, a repetition check every half
  second), then the next 30 s of frames are timed: CPU-seconds per second of stream, and
  minute 10 / minute 1; and the memory the session holds by then (traced allocations).
  The frames are one 30-s squat take looped, so the timed 30 s are the same motion at
  both ages; ``--tick-movements squat,dance`` adds a routine to music with its beat
  times (one clip of the whole length: a routine repeats on the beat grid).

With ``--replicas N`` (``--baseline-replicas``), that many servers of the tree share
the streams, taken in turn (a process per core: streams move between replicas, one
interpreter runs on one core); CPU and memory are summed over them. With
``--baseline-setting NAME=VALUE``, the baseline's servers get that ``COACH_*`` setting
(e.g. ``event_loop=asyncio`` against the same tree).

    python -m bench.live --baseline a5ca629      # bench/results/live.{json,md}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.api_sessions import Server
from bench.common import cpu_seconds, export_tree, report, resident_bytes

REPO = Path(__file__).resolve().parent.parent
VARIANTS = ("baseline", "new")
BATCH = 5  # frames per message, as a phone sends them
TICKS = Path(__file__).with_name("live_ticks.py")  # the child of the cost per second
COLUMNS = ["measure", "streams", "base_min", "base_median", "new_min", "new_median", "ratio"]


def _messages(seconds: float) -> tuple[dict, dict[str, list[str] | list[bytes]]]:
    """The stream header and the frame messages (made once) of ``seconds`` of a squat
    filmed by a phone, in each form a phone may send: ``"json"`` text, and ``"binary"``
    little-endian float32 bytes (NaN for an unseen joint's x and y)."""
    from synthetic_data.detector import phone_json
    from synthetic_data.generator import ClipRequest, generate_clip

    clip = generate_clip(ClipRequest(seed=6, movement="squat", duration_s=seconds, num_cameras=1))
    payload = phone_json(clip, 1)
    header = {k: payload[k] for k in ("layout", "fps", "image_width", "image_height")}
    frames = payload["frames"]
    values = np.array(
        [[[np.nan if v is None else v for v in joint] for joint in f] for f in frames], "<f4"
    )
    firsts = range(0, len(frames), BATCH)
    return header, {
        "json": [
            json.dumps({"type": "frames", "frames": frames[first : first + BATCH]})
            for first in firsts
        ],
        "binary": [values[first : first + BATCH].tobytes() for first in firsts],
    }


async def _streams(
    servers: list[Server], streams: int, header: dict, texts: list[str] | list[bytes]
) -> dict:
    """``streams`` sockets streaming ``texts`` in real time at once, spread in turn over
    ``servers`` (replicas of one tree): latencies (ms), the servers' CPU-seconds (all
    threads, and their event loops') per stream-second and memory per stream (bytes),
    summed over the servers."""
    import websockets

    period = BATCH / header["fps"]
    latencies: list[float] = []
    opened, go = asyncio.Event(), asyncio.Event()
    ready = 0
    pids = [server.process.pid for server in servers]

    async def stream(server: Server, offset: float) -> None:
        nonlocal ready
        token = server.headers["Authorization"].split()[1]
        start = {"type": "start", "token": token, "routine_id": server.routine_id, **header}
        url = server.url.replace("http", "ws", 1) + "/live"
        async with websockets.connect(url, max_size=2**24) as socket:
            await socket.send(json.dumps(start))
            await socket.recv()
            ready += 1
            if ready == streams:
                opened.set()
            await go.wait()
            await asyncio.sleep(offset)  # phones do not send in lockstep
            began = time.perf_counter()
            for number, text in enumerate(texts):
                sent = time.perf_counter()
                await socket.send(text)
                while json.loads(await socket.recv())["type"] != "progress":
                    pass
                latencies.append(time.perf_counter() - sent)
                await asyncio.sleep(max(0.0, began + (number + 1) * period - time.perf_counter()))

    before_memory = sum(resident_bytes(pid) for pid in pids)
    tasks = [
        asyncio.create_task(stream(servers[i % len(servers)], i * period / streams))
        for i in range(streams)
    ]
    await opened.wait()
    cpu_before, wall_before = sum(cpu_seconds(pid) for pid in pids), time.perf_counter()
    loop_before = sum(cpu_seconds(pid, thread=pid) for pid in pids)
    go.set()
    await asyncio.sleep(len(texts) * period / 2)
    memory = (sum(resident_bytes(pid) for pid in pids) - before_memory) / streams
    await asyncio.gather(*tasks)
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    loop_cpu = sum(cpu_seconds(pid, thread=pid) for pid in pids) - loop_before
    stream_seconds = streams * len(texts) * period
    ms = 1000 * np.asarray(latencies)
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "cpu_per_stream_s": cpu / stream_seconds,
        "loop_cpu_per_stream_s": loop_cpu / stream_seconds,
        "mib_per_stream": memory / 2**20,
        "wall_s": time.perf_counter() - wall_before,
    }


def _tick_cost(tree: Path, minutes: float, movement: str) -> dict:
    """The cost per second of a ``movement`` stream after ``minutes`` of it, on
    ``tree``'s code (``dance``: a routine to music, with its beat times)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        # Its text, not its path: bench/ would shadow the tree's scoring package, and a
        # baseline tree may not have the file.
        [sys.executable, "-c", TICKS.read_text(), str(minutes), movement],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rows(runs: dict) -> list[dict]:
    rows = []
    for (measure, streams), by_variant in runs.items():
        base, new = (by_variant[v] for v in VARIANTS)
        ratio = round(float(np.median(new) / np.median(base)), 2) if np.median(base) else "-"
        rows.append(
            {
                "measure": measure,
                "streams": streams,
                "base_min": round(float(np.min(base)), 3),
                "base_median": round(float(np.median(base)), 3),
                "new_min": round(float(np.min(new)), 3),
                "new_median": round(float(np.median(new)), 3),
                "ratio": ratio,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="HEAD", help="commit to compare the tree with")
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant and measure")
    parser.add_argument("--streams", default="1,20,100,200", help="concurrent streams")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each stream")
    parser.add_argument("--minutes", default="1,10", help="session ages for the cost per tick")
    parser.add_argument(
        "--tick-movements",
        default="squat",
        help="movements of the cost per tick (dance: a routine to music with its beats)",
    )
    parser.add_argument(
        "--replicas", type=int, default=1, help="servers of this tree sharing the streams"
    )
    parser.add_argument("--results", default="live", help="bench/results/NAME.{json,md}")
    parser.add_argument(
        "--binary-frames",
        action="store_true",
        help="this tree's clients send float32 bytes, not JSON (the baseline's send JSON)",
    )
    parser.add_argument(
        "--baseline-binary-frames",
        action="store_true",
        help="the baseline's clients send float32 bytes too (a tree that takes them)",
    )
    parser.add_argument(
        "--baseline-replicas", type=int, default=1, help="servers of the baseline's"
    )
    parser.add_argument(
        "--baseline-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a COACH_* setting for the baseline's server only (e.g. event_loop=asyncio)",
    )
    args = parser.parse_args(argv)
    baseline_settings = dict(setting.split("=", 1) for setting in args.baseline_setting)
    counts = [int(n) for n in args.streams.split(",") if n]
    ages = [float(m) for m in args.minutes.split(",") if m]
    tick_movements = [m for m in args.tick_movements.split(",") if m]
    new = subprocess.run(  # now: the tree may change while the benchmark runs
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    header, forms = _messages(args.seconds)
    messages = {
        "baseline": forms["binary" if args.baseline_binary_frames else "json"],
        "new": forms["binary" if args.binary_frames else "json"],
    }
    runs: dict[tuple[str, int | str], dict[str, list[float]]] = {}

    def add(measure: str, key, variant: str, value: float) -> None:
        runs.setdefault((measure, key), {v: [] for v in VARIANTS})[variant].append(value)

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        trees = {"baseline": export_tree(args.baseline, folder / "baseline"), "new": REPO}
        for repeat in range(args.repeats):
            for movement in tick_movements:
                for minutes in ages:
                    order = VARIANTS if repeat % 2 == 0 else VARIANTS[::-1]
                    age = f"{minutes:g} min" + ("" if movement == "squat" else f" {movement}")
                    for v in order:
                        cost = _tick_cost(trees[v], minutes, movement)
                        add("CPU s per stream s at minute", age, v, cost["cpu_per_s"])
                        add("MiB a session holds at minute", age, v, cost["held_mib"])
                        print(f"{v} {movement} minute {minutes:g}: {cost}", flush=True)
        extra = {"baseline": baseline_settings, "new": {}}
        replicas = {"baseline": args.baseline_replicas, "new": args.replicas}
        servers = {
            v: [Server(trees[v], folder / f"data-{v}-{n}", **extra[v]) for n in range(replicas[v])]
            for v in VARIANTS
        }
        try:
            for v in VARIANTS:  # warm-up: the routine's reference, lazy imports
                for server in servers[v]:
                    asyncio.run(_streams([server], 1, header, messages[v][:20]))
            for repeat in range(args.repeats):
                for streams in counts:
                    order = VARIANTS if repeat % 2 == 0 else VARIANTS[::-1]
                    for v in order:
                        result = asyncio.run(_streams(servers[v], streams, header, messages[v]))
                        print(f"{v} {streams} streams: {result}", flush=True)
                        add("p50 ms", streams, v, result["p50_ms"])
                        add("p99 ms", streams, v, result["p99_ms"])
                        add("server CPU s per stream s", streams, v, result["cpu_per_stream_s"])
                        loop_cpu = result["loop_cpu_per_stream_s"]
                        add("event-loop CPU s per stream s", streams, v, loop_cpu)
                        add("MiB per stream", streams, v, result["mib_per_stream"])
        finally:
            for replica_set in servers.values():
                for server in replica_set:
                    server.stop()
    context = {
        "baseline": args.baseline,
        "baseline_settings": baseline_settings,
        "replicas": args.replicas,
        "baseline_replicas": args.baseline_replicas,
        "new": new,
        "repeats": args.repeats,
        "seconds_per_stream": args.seconds,
        "batch_frames": BATCH,
        "binary_frames": args.binary_frames,
        "baseline_binary_frames": args.baseline_binary_frames,
        "load_average_at_end": os.getloadavg()[0],
    }
    title = f"Live streams: {context['new']} vs {context['baseline']} (new / baseline)"
    report(args.results, title, _rows(runs), COLUMNS, context)


if __name__ == "__main__":
    main()
