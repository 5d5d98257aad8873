from argparse import Namespace

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from dataflow_jobs.pipelines import DEAD_LETTER, BuildShard, ClipRef, PlanSources
from dataflow_jobs.records import film_clip, shard_index, split_for, window_record
from dataflow_jobs.sources import read_source, source_kind
from pose3d.shards import records_from_bytes
from synthetic_data.generator import ClipRequest, generate_clip
from tests.dataflow_jobs.conftest import write_bad_clips


@pytest.fixture(scope="module")
def clip():
    return generate_clip(ClipRequest(seed=3, movement="squat", duration_s=2.0, error_rate=1.0))


@pytest.mark.slow
def test_plan_sources_keys_clips_and_dead_letters_bad_files(tmp_path, tiny_clips):
    write_bad_clips(tmp_path)
    good = sorted(str(p) for p in tiny_clips.glob("*.clip.npz"))[:2]
    bad = [str(tmp_path / "corrupt.clip.npz"), str(tmp_path / "nan.clip.npz")]
    expected_keys = []
    for path in good:
        clip = read_source(path)[0].clip
        expected_keys.append(((split_for(clip.body.body_id), shard_index(clip.clip_id, 4)), path))
    with TestPipeline() as p:
        out = (
            p
            | beam.Create(good + bad)
            | beam.ParDo(PlanSources(num_shards=4)).with_outputs(DEAD_LETTER, main="refs")
        )
        keys = out.refs | "Keys" >> beam.Map(lambda kv: (kv[0], kv[1].source))
        assert_that(keys, equal_to(expected_keys), label="refs")
        reasons = out[DEAD_LETTER] | "Reasons" >> beam.Map(
            lambda d: (d["source"], d["stage"], "truncated" in d["reason"] or "NaN" in d["reason"])
        )
        assert_that(reasons, equal_to([(b, "read", True) for b in bad]), label="dead")


@pytest.mark.slow  # a Beam pipeline filming clips
def test_build_shard_films_k_cameras_per_clip_and_writes_one_file(tmp_path, tiny_clips):
    paths = sorted(str(p) for p in tiny_clips.glob("*.clip.npz"))[:3]
    refs = [ClipRef(path, 0, read_source(path)[0].clip.clip_id, "x") for path in paths]
    refs.append(ClipRef(str(tmp_path / "vanished.clip.npz"), 0, "vanished", "x"))
    args = Namespace(
        output=str(tmp_path),
        num_shards=2,
        cameras_per_clip=3,
        seed=1,
        window=0,
        skip_existing=False,
    )
    with TestPipeline() as p:
        out = (
            p
            | beam.Create([(("train", 1), refs)])
            | beam.ParDo(BuildShard(args)).with_outputs(DEAD_LETTER, main="shards")
        )
        entries = out.shards | "Entries" >> beam.Map(
            lambda e: (e["name"], e["sequences"], e["status"])
        )
        assert_that(entries, equal_to([("train-00001-of-00002.npz", 9, "written")]), label="shards")
        dead = out[DEAD_LETTER] | "Dead" >> beam.Map(
            lambda d: (d["stage"], "vanished" in d["source"])
        )
        assert_that(dead, equal_to([("film", True)]), label="dead")
    records, _ = records_from_bytes((tmp_path / "train-00001-of-00002.npz").read_bytes(), "shard")
    assert [r.key for r in records] == sorted(r.key for r in records)
    assert {r.camera_id.rsplit("/", 1)[1] for r in records} == {"cam0", "cam1", "cam2"}
    assert all(r.inputs_2d.shape[1:] == (17, 2) and np.abs(r.inputs_2d).max() < 3 for r in records)


def test_records_are_root_relative_metres_in_camera_space(clip):
    record = film_clip(clip, 1, seed=0)[0]
    assert np.allclose(record.targets_3d[:, 0], 0)
    # Bone lengths in camera space equal the clip's (rotation and translation only).
    thigh_cam = np.linalg.norm(record.targets_3d[:, 2] - record.targets_3d[:, 1], axis=-1)
    thigh_world = np.linalg.norm(clip.h36m17()[:, 2] - clip.h36m17()[:, 1], axis=-1)
    np.testing.assert_allclose(thigh_cam, thigh_world, atol=1e-5)
    assert record.root_camera[:, 2].min() > 1.0  # the person is in front of the camera
    assert record.error_severity.shape == (clip.num_frames, 9)
    assert (record.error_severity.max(axis=0) > 0).sum() == len({e.kind for e in clip.errors})
    assert -180 < record.camera_yaw_deg <= 180 and abs(record.camera_yaw_deg) <= 61


def test_film_is_deterministic_and_seeded(clip):
    a, b = film_clip(clip, 2, seed=5), film_clip(clip, 2, seed=5)
    c = film_clip(clip, 2, seed=6)
    assert all(np.array_equal(x.inputs_2d, y.inputs_2d) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].inputs_2d, c[0].inputs_2d)


def test_windows_cover_the_sequence_and_shift_labels(clip):
    record = film_clip(clip, 1, seed=0)[0]
    pieces = window_record(record, 25)
    assert [p.num_frames for p in pieces] == [25, 25]  # 10 leftover frames < half a window
    assert [p.key for p in pieces] == [f"{record.key}/w0000", f"{record.key}/w0001"]
    np.testing.assert_array_equal(pieces[1].inputs_2d, record.inputs_2d[25:50])
    for piece in pieces:
        for label in piece.labels:
            assert 0 <= label["start_frame"] < label["end_frame"] <= piece.num_frames
    assert window_record(record, 0) == [record]


def test_split_is_by_body_and_roughly_80_10_10():
    splits = [split_for(f"body-{i:06d}") for i in range(2000)]
    shares = {s: splits.count(s) / len(splits) for s in ("train", "val", "test")}
    assert (
        0.75 < shares["train"] < 0.85
        and 0.07 < shares["val"] < 0.13
        and 0.07 < shares["test"] < 0.13
    )
    assert split_for("body-000001") == split_for("body-000001")


def test_source_kinds(tmp_path):
    assert source_kind("a/b.clip.npz") == "clip" and source_kind("x.BVH") == "bvh"
    assert source_kind("solo/annotation_definitions.json") == "solo"
    assert source_kind("notes.txt") is None
    with pytest.raises(ValueError, match="not a clip, BVH or SOLO"):
        read_source(str(tmp_path / "notes.txt"))


def test_cameras_anywhere_and_real_noise_are_options_of_filming(clip):
    from dataflow_jobs.records import Filming

    front = film_clip(clip, 12, seed=3)
    anywhere = film_clip(clip, 12, seed=3, filming=Filming("anywhere", "mediapipe-real"))
    assert max(abs(r.camera_yaw_deg) for r in front) <= 61
    assert max(abs(r.camera_yaw_deg) for r in anywhere) > 90  # side and back views too
    assert [r.inputs_2d.shape for r in front] == [r.inputs_2d.shape for r in anywhere]


def test_a_split_fixed_by_the_source_wins_over_the_body_hash(clip):
    from dataclasses import replace

    from dataflow_jobs.records import clip_split

    for fixed, split in (("test", "test"), ("validation", "val"), ("train", "train")):
        body = replace(clip.body, extra={**clip.body.extra, "split": fixed})
        assert clip_split(replace(clip, body=body)) == split
        assert {r.split for r in film_clip(replace(clip, body=body), 2, seed=0)} == {split}
    body = replace(clip.body, extra={"split": "holdout"})
    with pytest.raises(ValueError, match="unknown split"):
        clip_split(replace(clip, body=body))


def test_exact_filming_is_the_noisy_filming_without_noise(clip):
    from dataflow_jobs.records import Filming

    noisy = film_clip(clip, 2, seed=5, filming=Filming("anywhere", "mediapipe-real"))
    exact = film_clip(clip, 2, seed=5, filming=Filming("anywhere", "exact"))
    assert [r.camera_yaw_deg for r in noisy] == [r.camera_yaw_deg for r in exact]
    assert all(r.noise_level == 0 and (r.scores == 1).all() for r in exact)
    assert not np.allclose(noisy[0].inputs_2d, exact[0].inputs_2d)
