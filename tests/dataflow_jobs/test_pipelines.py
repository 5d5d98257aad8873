import json

import numpy as np
import pytest

from dataflow_jobs import fileio, storage
from dataflow_jobs.cli import build_shards_main, generate_clips_main
from pose3d.shards import SPLITS, load_split, records_from_bytes
from tests.dataflow_jobs.conftest import write_bad_clips


def _run(input_pattern, output, *extra):
    code = build_shards_main(
        [
            "--input",
            input_pattern,
            "--output",
            str(output),
            "--cameras-per-clip",
            "2",
            "--num-shards",
            "3",
            *extra,
        ]
    )
    assert code == 0
    return json.loads(fileio.read_bytes(fileio.join(str(output), "summary.json")))


@pytest.fixture(scope="module")
def local_run(tiny_clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    return out, _run(f"{tiny_clips}/*.clip.npz", out)


def test_end_to_end_local(local_run, tiny_clips):
    out, summary = local_run
    records = [r for split in SPLITS for r in load_split(out, split)]
    assert len(records) == 20 * 2 == sum(s["sequences"] for s in summary["shards"])
    assert summary["inputs"] == 20 and summary["dead_letters"] == 0
    counts = summary["counts"]
    assert sum(v["sequences"] for v in counts["split"].values()) == 40
    assert sum(v["frames"] for v in counts["movement"].values()) == sum(
        r.num_frames for r in records
    )
    assert all(name.endswith("-of-00003.npz") for name in (s["name"] for s in summary["shards"]))
    first = records[0]
    assert first.inputs_2d.dtype == np.float32 and np.isfinite(first.inputs_2d).all()


def test_one_body_never_lands_in_two_splits(local_run):
    out, _ = local_run
    split_of_body = {}
    for split in SPLITS:
        for record in load_split(out, split):
            assert split_of_body.setdefault(record.body_id, split) == split
    assert len(set(split_of_body.values())) >= 2


@pytest.mark.slow
def test_rerun_gives_identical_bytes_and_skip_existing_keeps_files(local_run, tiny_clips, tmp_path):
    out, summary = local_run
    again = _run(f"{tiny_clips}/*.clip.npz", tmp_path)
    assert again["fingerprint"] == summary["fingerprint"]
    for shard in summary["shards"]:
        assert (tmp_path / shard["name"]).read_bytes() == (out / shard["name"]).read_bytes()
    # A killed run left one shard missing and one half-written temp file.
    victim = tmp_path / summary["shards"][0]["name"]
    victim.unlink()
    (tmp_path / f".{victim.name}.123.tmp").write_bytes(b"partial")
    resumed = _run(f"{tiny_clips}/*.clip.npz", tmp_path, "--skip-existing")
    statuses = {s["name"]: s["status"] for s in resumed["shards"]}
    assert statuses[victim.name] == "written"
    assert list(statuses.values()).count("kept") == len(statuses) - 1
    assert victim.read_bytes() == (out / victim.name).read_bytes()


def test_bad_clips_go_to_the_dead_letter(tiny_clips, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for path in sorted(tiny_clips.glob("*.clip.npz"))[:4]:
        (inputs / path.name).write_bytes(path.read_bytes())
    write_bad_clips(inputs)
    summary = _run(f"{inputs}/*.clip.npz", tmp_path / "out")
    assert summary["dead_letters"] == 2 and summary["inputs"] == 4
    dead = [
        json.loads(line)
        for line in (tmp_path / "out" / "dead_letters.jsonl").read_text().splitlines()
    ]
    assert sorted(d["source"].rsplit("/", 1)[1] for d in dead) == [
        "corrupt.clip.npz",
        "nan.clip.npz",
    ]
    assert sum(s["sequences"] for s in summary["shards"]) == 8


def test_other_sources_bvh_and_solo(tmp_path):
    from synthetic_data.bvh import write_bvh
    from synthetic_data.generator import ClipRequest, generate_clip
    from synthetic_data.solo import write_solo

    clip = generate_clip(ClipRequest(seed=1, movement="arm_raise", duration_s=2.0))
    write_bvh(clip, tmp_path / "mocap.bvh")
    write_solo(clip, tmp_path / "unity")
    summary = _run(
        f"{tmp_path}/*.bvh,{tmp_path}/unity/annotation_definitions.json", tmp_path / "out"
    )
    assert summary["dead_letters"] == 0 and summary["inputs"] == 2
    ids = {r.clip_id for split in SPLITS for r in load_split(tmp_path / "out", split)}
    assert ids == {"bvh-mocap", "solo-unity-sequence.0"}


@pytest.mark.slow
def test_end_to_end_on_the_gcs_emulator(tiny_clips, gcs_emulator):
    for path in sorted(tiny_clips.glob("*.clip.npz"))[:6]:
        fileio.write_bytes(f"{gcs_emulator}/clips/{path.name}", path.read_bytes())
    output = f"{gcs_emulator}/shards"
    summary = _run(f"{gcs_emulator}/clips/*.clip.npz", output)
    assert summary["inputs"] == 6 and summary["dead_letters"] == 0
    names = fileio.match(f"{output}/*.npz")
    assert len(names) == len(summary["shards"])
    records, kinds = records_from_bytes(fileio.read_bytes(names[0]), names[0])
    assert records and len(kinds) == 9
    assert not fileio.match(f"{output}/*.inprogress")
    # The storage helper moves artifacts in and out of the same bucket.
    local = storage.download(f"{output}/summary.json", "/tmp/coach-summary-download.json")
    assert json.loads(local.read_text())["fingerprint"] == summary["fingerprint"]
    storage.upload(local, f"{gcs_emulator}/models/summary-copy.json")
    assert fileio.exists(f"{gcs_emulator}/models/summary-copy.json")


@pytest.mark.slow
def test_generate_clips_job(tmp_path, gcs_emulator):
    assert (
        generate_clips_main(
            ["--count", "6", "--output", str(tmp_path), "--seed", "2", "--duration", "1"]
        )
        == 0
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["clips"]) == 6 and not manifest["dead_letters"]
    assert len(list(tmp_path.glob("*.clip.npz"))) == 6
    assert len(manifest["references"]) == 6
    # The same job into the emulator's bucket writes the same bytes.
    bucket_out = f"{gcs_emulator}/generated"
    assert (
        generate_clips_main(
            ["--count", "6", "--output", bucket_out, "--seed", "2", "--duration", "1"]
        )
        == 0
    )
    first = manifest["clips"][0]["file"]
    assert fileio.read_bytes(f"{bucket_out}/{first}") == (tmp_path / first).read_bytes()


def test_dry_run_validates_dataflow_flags(tmp_path, capsys):
    base = [
        "--input",
        f"{tmp_path}/*.clip.npz",
        "--output",
        "gs://coach-bucket/out",
        "--dry-run",
        "--runner",
        "DataflowRunner",
    ]
    assert build_shards_main(base) == 2
    assert "--project is required" in capsys.readouterr().err
    full = [
        *base,
        "--project",
        "coach-demo-123",
        "--region",
        "europe-west1",
        "--temp_location",
        "gs://coach-bucket/tmp",
        "--setup_file",
        "./setup.py",
    ]
    assert build_shards_main(full) == 0
    printed = capsys.readouterr().out
    assert "DataflowRunner" in printed and "BuildShards" in printed and "PlanSources" in printed
    # Workers get the project from the batch image instead of the setup file.
    image = "europe-west1-docker.pkg.dev/coach-demo-123/coach/batch:1"
    in_image = [*full[: full.index("--setup_file")], "--sdk_container_image", image]
    assert build_shards_main(in_image) == 0
    capsys.readouterr()
    without_either = full[: full.index("--setup_file")]
    assert build_shards_main(without_either) == 2
    assert "--sdk_container_image IMAGE" in capsys.readouterr().err
    bad_project = [a if a != "coach-demo-123" else "My Project" for a in full]
    assert build_shards_main(bad_project) == 2
    assert "Invalid Project ID" in capsys.readouterr().err


def test_bad_flags_are_explained(tmp_path, capsys):
    with pytest.raises(SystemExit):
        build_shards_main(["--output", str(tmp_path)])
    assert "--input is required" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_shards_main(["--input", "x", "--output", str(tmp_path), "--cameras-per-clip", "0"])
    assert "at least 1" in capsys.readouterr().err
