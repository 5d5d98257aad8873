import json
import zipfile

import numpy as np
import pytest

from synthetic_data.bvh import CGSPEED_METRES, read_bvh, write_bvh
from synthetic_data.clip import ClipFormatError, read_clip, write_clip
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.solo import read_solo, write_solo


@pytest.fixture(scope="module")
def clip():
    return generate_clip(ClipRequest(seed=21, movement="squat", error_rate=1.0, num_cameras=2))


def test_clip_round_trip(tmp_path, clip):
    path = write_clip(clip, tmp_path / "a.clip.npz")
    loaded = read_clip(path)
    assert np.array_equal(loaded.joints, clip.joints)
    assert loaded.metadata() == clip.metadata()
    assert loaded.errors == clip.errors and loaded.body == clip.body
    assert [c.to_dict() for c in loaded.cameras] == [c.to_dict() for c in clip.cameras]
    assert not list(tmp_path.glob("*.tmp"))


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = write_clip(generate_clip(ClipRequest(seed=8, movement="dance")), tmp_path / "a.clip.npz")
    b = write_clip(generate_clip(ClipRequest(seed=8, movement="dance")), tmp_path / "b.clip.npz")
    assert a.read_bytes() == b.read_bytes()


def test_broken_clip_files_are_named(tmp_path, clip):
    good = write_clip(clip, tmp_path / "good.clip.npz")
    truncated = tmp_path / "truncated.clip.npz"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ClipFormatError, match=r"truncated\.clip\.npz: broken or truncated"):
        read_clip(truncated)
    garbage = tmp_path / "garbage.clip.npz"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(ClipFormatError, match=r"garbage\.clip\.npz"):
        read_clip(garbage)
    with pytest.raises(FileNotFoundError):
        read_clip(tmp_path / "missing.clip.npz")


def _rewrite(tmp_path, clip, name, meta_change=None, joints=None):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        meta = clip.metadata()
        if meta_change:
            meta_change(meta)
        archive.writestr("meta.json", json.dumps(meta))
        import io

        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, clip.joints if joints is None else joints)
        archive.writestr("joints.npy", buffer.getvalue())
    return path


def test_wrong_schema_and_bad_contents_are_named(tmp_path, clip):
    newer = _rewrite(tmp_path, clip, "v9.clip.npz", lambda m: m.update(schema_version=9))
    with pytest.raises(ClipFormatError, match="schema version 9 is not supported"):
        read_clip(newer)
    other = _rewrite(tmp_path, clip, "other.clip.npz", lambda m: m.update(schema="x"))
    with pytest.raises(ClipFormatError, match="unknown schema 'x'"):
        read_clip(other)
    nan = clip.joints.copy()
    nan[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        read_clip(_rewrite(tmp_path, clip, "nan.clip.npz", joints=nan))
    short = _rewrite(tmp_path, clip, "short.clip.npz", joints=clip.joints[:-5])
    with pytest.raises(ClipFormatError, match="frames stored"):
        read_clip(short)


def test_solo_round_trip(tmp_path, clip):
    write_solo(clip, tmp_path / "solo", camera=1)
    (loaded,) = read_solo(tmp_path / "solo", movement="squat")
    assert loaded.num_frames == clip.num_frames
    assert loaded.fps == pytest.approx(clip.fps, rel=1e-4)
    # COCO joints come back exactly (up to the floor re-levelling), the rest derived.
    offset = (loaded.coco17() - clip.coco17()).mean(axis=(0, 1))
    np.testing.assert_allclose(loaded.coco17(), clip.coco17() + offset, atol=1e-5)
    assert np.abs(offset[[0, 2]]).max() < 1e-5
    assert np.abs(loaded.h36m17() - clip.h36m17() - offset).max() < 0.08
    cam, original = loaded.cameras[0], clip.cameras[1]
    np.testing.assert_allclose(cam.rotation, original.rotation, atol=1e-6)
    np.testing.assert_allclose(cam.position, original.position, atol=1e-5)
    assert cam.intrinsics.fx == pytest.approx(original.intrinsics.fx, rel=1e-6)
    assert "pelvis" in loaded.body.extra["derived_joints"]


def test_solo_openpose18_template_is_understood(tmp_path, clip):
    root = tmp_path / "solo"
    write_solo(clip, root)
    # Rewrite as the 18-point OpenPose-order "Coco" template (neck at the shoulder centre).
    from synthetic_data.solo import OPENPOSE18_LABELS

    definitions = json.loads((root / "annotation_definitions.json").read_text())
    template = definitions["annotationDefinitions"][0]["template"]
    coco_names = [k["label"] for k in template["keypoints"]]
    template["keypoints"] = [
        {"label": n.replace("_", " ").title(), "index": i} for i, n in enumerate(OPENPOSE18_LABELS)
    ]
    (root / "annotation_definitions.json").write_text(json.dumps(definitions))
    for step in (root / "sequence.0").iterdir():
        frame = json.loads(step.read_text())
        value = frame["captures"][0]["annotations"][0]["values"][0]
        by_name = {coco_names[k["index"]]: k for k in value["keypoints"]}
        shoulders = [by_name["left_shoulder"], by_name["right_shoulder"]]
        neck = {
            "location": list(np.mean([s["location"] for s in shoulders], axis=0)),
            "cameraCartesianLocation": list(
                np.mean([s["cameraCartesianLocation"] for s in shoulders], axis=0)
            ),
            "state": 2,
        }
        value["keypoints"] = [
            {**(neck if n == "neck" else by_name[n]), "index": i}
            for i, n in enumerate(OPENPOSE18_LABELS)
        ]
        step.write_text(json.dumps(frame))
    (loaded,) = read_solo(root)
    assert "thorax" not in loaded.body.extra["derived_joints"]
    offset = (loaded.coco17() - clip.coco17()).mean(axis=(0, 1))
    np.testing.assert_allclose(loaded.coco17(), clip.coco17() + offset, atol=1e-5)


def test_broken_solo_is_named(tmp_path, clip):
    folder = write_solo(clip, tmp_path / "solo")
    (folder / "step3.frame_data.json").write_text("{broken")
    with pytest.raises(ClipFormatError, match=r"step3\.frame_data\.json: unreadable frame"):
        read_solo(tmp_path / "solo")
    with pytest.raises(ClipFormatError, match="no sequence"):
        read_solo(tmp_path)


def test_bvh_round_trip(tmp_path, clip):
    path = write_bvh(clip, tmp_path / "motion.bvh")
    loaded = read_bvh(path, units="m")
    assert loaded.fps == pytest.approx(clip.fps, rel=1e-6)
    np.testing.assert_allclose(loaded.joints, clip.joints, atol=2e-5)


CMU_BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT LeftUpLeg
  {
    OFFSET 1.8 -1 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT LeftLeg
    {
      OFFSET 0 -7.5 0
      CHANNELS 3 Zrotation Yrotation Xrotation
      JOINT LeftFoot
      {
        OFFSET 0 -7.5 0
        CHANNELS 3 Zrotation Yrotation Xrotation
        JOINT LeftToeBase
        {
          OFFSET 0 -0.7 2
          CHANNELS 3 Zrotation Yrotation Xrotation
          End Site
          {
            OFFSET 0 0 1
          }
        }
      }
    }
  }
  JOINT RightUpLeg
  {
    OFFSET -1.8 -1 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT RightLeg
    {
      OFFSET 0 -7.5 0
      CHANNELS 3 Zrotation Yrotation Xrotation
      JOINT RightFoot
      {
        OFFSET 0 -7.5 0
        CHANNELS 3 Zrotation Yrotation Xrotation
        End Site
        {
          OFFSET 0 -0.7 3
        }
      }
    }
  }
  JOINT LowerBack
  {
    OFFSET 0 1 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT Spine
    {
      OFFSET 0 2 0
      CHANNELS 3 Zrotation Yrotation Xrotation
      JOINT Spine1
      {
        OFFSET 0 3 0
        CHANNELS 3 Zrotation Yrotation Xrotation
        JOINT LeftArm
        {
          OFFSET 3.5 0 0
          CHANNELS 3 Zrotation Yrotation Xrotation
          JOINT LeftForeArm
          {
            OFFSET 0 -5.5 0
            CHANNELS 3 Zrotation Yrotation Xrotation
            JOINT LeftHand
            {
              OFFSET 0 -4.5 0
              CHANNELS 3 Zrotation Yrotation Xrotation
              End Site
              {
                OFFSET 0 -1.5 0
              }
            }
          }
        }
        JOINT RightArm
        {
          OFFSET -3.5 0 0
          CHANNELS 3 Zrotation Yrotation Xrotation
          JOINT RightForeArm
          {
            OFFSET 0 -5.5 0
            CHANNELS 3 Zrotation Yrotation Xrotation
            JOINT RightHand
            {
              OFFSET 0 -4.5 0
              CHANNELS 3 Zrotation Yrotation Xrotation
              End Site
              {
                OFFSET 0 -1.5 0
              }
            }
          }
        }
        JOINT Neck
        {
          OFFSET 0 1 0
          CHANNELS 3 Zrotation Yrotation Xrotation
          JOINT Head
          {
            OFFSET 0 1.5 0
            CHANNELS 3 Zrotation Yrotation Xrotation
            End Site
            {
              OFFSET 0 2.5 0
            }
          }
        }
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.008333
"""


def test_cmu_style_bvh_in_cgspeed_units(tmp_path):
    channels = 6 + 3 * 18
    still = np.zeros(channels)
    still[1] = 17.0  # hips 17 units above the origin
    bent = still.copy()
    bent[6 + 3 * 1 + 2] = 90.0  # LeftLeg (knee joint) Xrotation: the shank swings back
    text = CMU_BVH + "\n".join(" ".join(map(str, row)) for row in (still, bent)) + "\n"
    (tmp_path / "cmu.bvh").write_text(text)
    clip = read_bvh(tmp_path / "cmu.bvh")  # units detected: cgspeed
    assert clip.fps == pytest.approx(120, rel=1e-3)
    from synthetic_data.body import J

    assert 1.3 < clip.body.height < 1.7
    knee, ankle = clip.joints[:, J["left_knee"]], clip.joints[:, J["left_ankle"]]
    shank = 7.5 * CGSPEED_METRES
    np.testing.assert_allclose(knee[0] - ankle[0], [0, shank, 0], atol=1e-6)
    # Xrotation +90 turns the shank (pointing down) to point along -z.
    np.testing.assert_allclose(ankle[1] - knee[1], [0, 0, -shank], atol=1e-6)
    assert "left_heel" in clip.body.extra["derived_joints"]


def test_broken_bvh_is_named(tmp_path):
    (tmp_path / "cut.bvh").write_text(CMU_BVH + "0 17 0\n")
    with pytest.raises(ClipFormatError, match=r"cut\.bvh: truncated motion"):
        read_bvh(tmp_path / "cut.bvh")
    (tmp_path / "not.bvh").write_text("hello")
    with pytest.raises(ClipFormatError, match="not a BVH file"):
        read_bvh(tmp_path / "not.bvh")
