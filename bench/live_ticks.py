"""Child of ``bench.live``: the CPU cost per second of a live stream after N minutes of it.

Runs on whichever source tree is first on ``PYTHONPATH`` (a baseline commit's or this
one's), using only what every version of the live session offers: ``LiveSession(models,
reference, header, strictness)``, ``push``, ``check_due`` and ``finished_reps``. The
session is fed ``minutes`` of squats the way the socket feeds it (5-frame pushes, a
repetition check whenever one is due), then the next 30 s are timed (CPU time of this
process; torch, BLAS and OpenMP on one thread each, as in the API: idle pool threads
spinning would count otherwise). The squats are one 30-s take looped, so the timed 30 s
are the same motion at every session age: what moves the cost is the age alone (a
clip generated for each length put different repetitions in the timed window, which
moved the cost more than the age did). Also the memory the session holds by then
(``tracemalloc`` over the session's making and feeding, after a collection: its frames,
poses and repetition tracks; torch's own buffers are not traced, and the lifter's stream
memory is a fixed size). Prints one JSON line.

With ``dance`` as a second argument the session is a routine to music with its beat
times: one clip of the whole length is made (a routine repeats on the beat grid, so the
timed 30 s hold the same moves at every age; a looped take would break the grid).

    cd <tree> && PYTHONPATH=. python -c "$(cat bench/live_ticks.py)" 10 [dance]
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc

import torch
from threadpoolctl import threadpool_limits

from lab.clips import reference_for
from lab.live_eval import live_models
from scoring.live import LiveSession
from scoring.population import PopulationModel
from synthetic_data.detector import phone_json
from synthetic_data.generator import ClipRequest, generate_clip

BATCH = 5
TIMED_S = 30.0


def main() -> None:
    minutes = float(sys.argv[1])
    movement = sys.argv[2] if len(sys.argv) > 2 else "squat"
    torch.set_num_threads(1)
    threadpool_limits(1)
    models = live_models(PopulationModel.load())
    # As the API after its start-up (coach_api/main.py): what loading made is frozen, so a
    # full collection walks the session's objects only. Unfrozen, this process's first
    # full collection (~0.1 s over ~245,000 objects of modules and models) fell at ~10
    # minutes of session, inside the minute-10 window: +12% there that no server sees.
    gc.collect()
    gc.freeze()
    loops = round(minutes * 60 / TIMED_S)
    length_s = TIMED_S * (loops + 1) if movement == "dance" else TIMED_S
    clip = generate_clip(ClipRequest(seed=6, movement=movement, duration_s=length_s, num_cameras=1))
    payload = phone_json(clip, 1)
    take = payload.pop("frames")
    frames = take if movement == "dance" else take * (loops + 1)
    header = {k: payload[k] for k in ("layout", "fps", "image_width", "image_height")}
    if movement == "dance":
        header["beat_times"] = [float(b) for b in clip.beat_times]
    reference = reference_for(movement, {})[0]
    tracemalloc.start()
    session = LiveSession(models, reference, header, "intermediate")
    timed_from = len(frames) - round(TIMED_S * clip.fps)

    def feed(first: int, end: int) -> int:
        reps = 0
        for start in range(first, end, BATCH):
            session.push(frames[start : min(start + BATCH, end)])
            if session.check_due():
                reps += len(session.finished_reps())
        return reps

    feed(0, timed_from)
    gc.collect()
    held_mib = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    cpu, wall = time.process_time(), time.perf_counter()
    reps = feed(timed_from, len(frames))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    result = {
        "minutes": minutes,
        "cpu_per_s": cpu / TIMED_S,
        "wall_per_s": wall / TIMED_S,
        "held_mib": held_mib,
    }
    print(json.dumps(result | {"reps_in_timed": reps}))


if __name__ == "__main__":
    main()
