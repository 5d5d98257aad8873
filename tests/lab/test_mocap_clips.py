"""`coach mocap clips`: real takes become clips, training subjects on many bodies."""

from __future__ import annotations

import json

import pytest

from lab.mocap_clips import make_real_clips
from synthetic_data.bvh import write_bvh
from synthetic_data.clip import read_clip
from synthetic_data.generator import ClipRequest, generate_clip
from tests.synthetic_data.test_mocap_readers import HEADER, manifest_row


def test_takes_become_clips_in_their_subjects_split(tmp_path):
    root = tmp_path / "mocap"
    takes = {
        "cmu_014": "14/14_07", "cmu_005": "05/05_01", "cmu_002": "02/02_05", "cmu_016": "16/16_01"
    }  # fmt: skip
    rows = []
    for number, (subject, trial) in enumerate(takes.items()):
        clip = generate_clip(ClipRequest(seed=number, movement="squat", duration_s=3.0))
        path = root / "cmu_bvh_przestr" / f"{trial}.bvh"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bvh(clip, path)
        rows.append(
            manifest_row("cmu_bvh_przestr", f"cmu_bvh_przestr/{trial}.bvh", subject,
                         clip.num_frames, clip.fps, "bvh", "43j", trial.split("/")[1],
                         "squats", clip.fps)
        )  # fmt: skip
    short = root / "cmu_bvh_przestr" / "14" / "14_08.bvh"
    write_bvh(generate_clip(ClipRequest(seed=9, movement="squat", duration_s=0.5)), short)
    rows.append(manifest_row("cmu_bvh_przestr", "cmu_bvh_przestr/14/14_08.bvh", "cmu_014",
                             15, 30.0, "bvh", "43j", "14_08", "squats", 30.0))  # fmt: skip
    (root / "MANIFEST.tsv").write_text("\n".join([HEADER, *rows]) + "\n")
    out = tmp_path / "clips"
    summary = make_real_clips(
        root, root / "MANIFEST.tsv", out, variant_count=3, seed=0, donor_count=1, keep_real=True
    )
    clips = [read_clip(p) for p in sorted(out.glob("*.clip.npz"))]
    by_split = {}
    for clip in clips:
        by_split.setdefault(clip.body.extra["split"], []).append(clip)
    # per training take: 3 sampled bodies, 1 other real skeleton, its own body
    assert {k: len(v) for k, v in by_split.items()} == {"train": 10, "test": 1, "validation": 1}
    assert {c.body.body_id for c in by_split["train"]} == {"cmu_014", "cmu_005"}
    of_014 = [c for c in by_split["train"] if c.body.body_id == "cmu_014"]
    assert len({round(c.body.height, 3) for c in of_014 if "-v" in c.clip_id}) == 3  # new bodies
    assert [c.body.extra["skeleton_of"] for c in of_014 if "-d" in c.clip_id] == ["cmu_005"]
    assert summary["donors"] == ["cmu_005", "cmu_014"]  # training people only
    assert by_split["test"][0].body.body_id == "cmu_002"  # the real person, as they are
    assert all(c.fps == 30.0 for c in clips)
    dead = [json.loads(line) for line in (out / "dead_letters.jsonl").read_text().splitlines()]
    assert [d["stage"] for d in dead] == ["length"] and summary["dead_letters"] == 1


def test_an_unknown_split_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "clips"
    with pytest.raises(ValueError, match=r"unknown splits \['tset'\]"):
        make_real_clips(tmp_path, tmp_path / "MANIFEST.tsv", out, splits=("train", "tset"))
    assert not out.exists()
