"""What a live session sends and stores, for checking that a change leaves it alone.

Streams held-out clips through :class:`scoring.live.LiveSession` as
``coach evaluate-scoring --live`` does (:func:`lab.live_eval.stream_clip`: phone-filmed,
small batches, a repetition check whenever one is due, the dances' beat times) and
writes, per clip, every ``rep`` message, the closing summary's report and the poses it
judged (rounded to 1 um) as one JSON file. Run it before and after a change that should
not move the cues (a speed or memory cut), then ``--compare`` the two: the clips whose
messages, reports or poses differ are listed. Session 42 checked
its live memory and routine changes this way (docs/design-notes.md, coach_api).

    .venv/bin/python scripts/live_replay_dump.py --out /tmp/before.json
    .venv/bin/python scripts/live_replay_dump.py --out /tmp/after.json
    .venv/bin/python scripts/live_replay_dump.py --compare /tmp/before.json /tmp/after.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lab.clips import clip_paths
from lab.live_eval import live_models, stream_clip
from scoring.population import PopulationModel
from synthetic_data.clip import read_clip

PARTS = ("messages", "report", "poses")


def replay(path: Path, number: int, models, cache: dict) -> dict:
    """One clip's live ``rep`` messages, summary report and judged poses ``(T, 17, 3)``
    (as nested lists, metres rounded to 1e-6)."""
    session, messages = stream_clip(read_clip(path), number, models, cache, "intermediate")
    summary = session.summary()
    poses = np.round(summary.poses, 6).tolist()
    return {"messages": messages, "report": summary.report, "poses": poses}


def differing(before: dict, after: dict) -> dict[str, list[str]]:
    """Per part (:data:`PARTS`), the clips whose part differs; a clip in one file only
    counts as differing in every part."""
    names = sorted(set(before) | set(after))
    return {
        part: [
            name
            for name in names
            if name not in before or name not in after or before[name][part] != after[name][part]
        ]
        for part in PARTS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=Path, default=Path("data/heldout"))
    parser.add_argument("--limit", type=int, default=150, help="clips, spread over movements")
    parser.add_argument("--out", type=Path, help="where to write the replay")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(path.read_text()) for path in args.compare)
        for part, names in differing(before, after).items():
            print(f"{part}: {len(names)} of {len(set(before) | set(after))} clips differ")
            for name in names:
                print(f"  {name}")
        return
    if args.out is None:
        parser.error("--out or --compare is needed")
    models, cache = live_models(PopulationModel.load()), {}
    paths = clip_paths(args.clips, args.limit)
    replays = {
        path.name: replay(path, n, models, cache)
        for n, path in enumerate(tqdm(paths, desc="live replay"))
    }
    args.out.write_text(json.dumps(replays, sort_keys=True))
    print(f"{len(replays)} clips -> {args.out}")


if __name__ == "__main__":
    main()
