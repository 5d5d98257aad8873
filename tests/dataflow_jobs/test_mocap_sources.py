"""Motion capture inputs of build-shards: ASF/AMC files, subjects and their fixed split,
the mocap manifest when it sits above the inputs, dead letters for bad files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from dataflow_jobs.pipelines import DEAD_LETTER, PlanSources
from dataflow_jobs.sources import expand_patterns, read_source, source_kind
from synthetic_data.clip import ClipFormatError
from tests.synthetic_data.test_mocap_readers import CMU, amc_text, asf_text, bvh_text


def write(folder: Path, name: str, text: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return str(folder / name)


def test_amc_is_an_input_kind(tmp_path):
    assert source_kind("cmu/02/02_01.amc") == "amc" and source_kind("X.AMC") == "amc"
    assert source_kind("cmu/02/02.asf") is None  # a skeleton alone is not a clip
    write(tmp_path / "02", "02.asf", asf_text())
    amc = write(tmp_path / "02", "02_01.amc", amc_text([{}]))
    assert expand_patterns(f"{tmp_path}/*/*.amc,{tmp_path}/*/*.asf") == [amc]


def test_cmu_and_hdm05_amc_find_their_skeleton_and_subject(tmp_path):
    asf = write(tmp_path / "02", "02.asf", asf_text())
    amc = write(tmp_path / "02", "02_01.amc", amc_text([{}, {}]))
    (item,) = read_source(amc)
    clip = item.clip
    assert clip.clip_id == "amc-02_01" and clip.fps == 120.0 and clip.num_frames == 2
    assert clip.body.body_id == "cmu_002" and clip.body.extra["split"] == "test"
    both = Path(asf).read_bytes() + Path(amc).read_bytes()
    assert item.sha256 == hashlib.sha256(both).hexdigest()
    write(tmp_path / "bd", "HDM_bd.asf", asf_text())
    hdm = write(tmp_path / "bd", "HDM_bd_squat1Reps_001_120.amc", amc_text([{}]))
    assert read_source(hdm)[0].clip.body.body_id == "hdm05_bd"
    train = write(tmp_path / "14", "14.asf", asf_text())
    shutil.copy(amc, tmp_path / "14" / "14_06.amc")
    assert (
        train
        and read_source(str(tmp_path / "14" / "14_06.amc"))[0].clip.body.extra["split"] == "train"
    )


def test_cmu_named_bvh_keeps_its_subject(tmp_path):
    path = write(tmp_path, "16_01.bvh", bvh_text(CMU, 17.7, [{}]))
    clip = read_source(path)[0].clip
    assert clip.body.body_id == "cmu_016" and clip.body.extra["split"] == "validation"
    other = write(tmp_path, "dance.bvh", bvh_text(CMU, 17.7, [{}]))
    assert read_source(other)[0].clip.body.body_id == "bvh-dance"  # whose, unknown


def test_amc_without_a_skeleton_raises(tmp_path):
    amc = write(tmp_path / "x", "05_01.amc", amc_text([{}]))
    with pytest.raises(ClipFormatError, match=r"05_01\.amc: no skeleton"):
        read_source(amc)


def test_manifest_above_the_inputs_is_used(tmp_path):
    """The take's manifest fps (not the header's) and its T-pose frame dropped."""
    root = tmp_path / "mocap"
    bvh = write(root / "cmu_bvh_przestr" / "14", "14_07.bvh", bvh_text(CMU, 17.7, [{}] * 4))
    header = "source\tpath\tsubject\tframes\tfps\tlicense\tformat\tskeleton\ttrial\tdescription"
    row = (
        "cmu_bvh_przestr\tcmu_bvh_przestr/14/14_07.bvh\tcmu_014\t4\t60\tCMU\tbvh\t43j\t14_07\tjump"
    )
    write(root, "MANIFEST.tsv", f"{header}\n{row}\n")
    clip = read_source(bvh)[0].clip
    assert clip.fps == 60 and clip.num_frames == 3 and clip.movement == "jump"
    assert clip.clip_id == "cmu_bvh_przestr-14-14_07" and clip.body.body_id == "cmu_014"
    assert clip.body.extra["licence"] == "CMU" and clip.body.extra["split"] == "train"


@pytest.mark.slow
def test_plan_sources_keys_by_the_fixed_split_and_dead_letters_bad_amc(tmp_path):
    write(tmp_path / "16", "16.asf", asf_text())
    good = write(tmp_path / "16", "16_02.amc", amc_text([{}, {}]))
    bad = write(tmp_path / "16", "16_03.amc", amc_text([{}, {}])[:-40])
    with TestPipeline() as p:
        out = (
            p
            | beam.Create([good, bad])
            | beam.ParDo(PlanSources(num_shards=1)).with_outputs(DEAD_LETTER, main="refs")
        )
        keys = out.refs | "Keys" >> beam.Map(lambda kv: (kv[0], kv[1].clip_id))
        assert_that(keys, equal_to([(("val", 0), "amc-16_02")]), label="refs")
        dead = out[DEAD_LETTER] | "Dead" >> beam.Map(
            lambda d: (d["source"], d["stage"], "16_03.amc" in d["reason"])
        )
        assert_that(dead, equal_to([(bad, "read", True)]), label="dead")
