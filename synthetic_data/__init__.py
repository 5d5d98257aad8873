"""Simulated workout and dance clips with labelled form errors, and readers for Unity
Perception (SOLO) exports and motion capture (BVH in any naming, CMU/HDM05 ASF/AMC, the
mocap archive's manifest). Depends on ``pose3d`` only."""

from synthetic_data.asfamc import read_asf_amc
from synthetic_data.body import BODY28, BodyParams, Flexibility
from synthetic_data.bvh import read_bvh, write_bvh
from synthetic_data.clip import CameraSpec, Clip, ClipFormatError, ErrorLabel, read_clip, write_clip
from synthetic_data.detector import Observation, film
from synthetic_data.errors import ERROR_KINDS, ErrorPlan
from synthetic_data.generator import GENERATOR_VERSION, ClipRequest, generate_clip, trainer_clip
from synthetic_data.mocap import MocapTake, iter_takes, load_manifest, read_take, split_of
from synthetic_data.movements import MOVEMENTS
from synthetic_data.solo import read_solo, read_solo_sequence, write_solo

__all__ = [
    "BODY28",
    "ERROR_KINDS",
    "GENERATOR_VERSION",
    "MOVEMENTS",
    "BodyParams",
    "CameraSpec",
    "Clip",
    "ClipFormatError",
    "ClipRequest",
    "ErrorLabel",
    "ErrorPlan",
    "Flexibility",
    "MocapTake",
    "Observation",
    "film",
    "generate_clip",
    "iter_takes",
    "load_manifest",
    "read_asf_amc",
    "read_bvh",
    "read_clip",
    "read_solo",
    "read_solo_sequence",
    "read_take",
    "split_of",
    "trainer_clip",
    "write_bvh",
    "write_clip",
    "write_solo",
]
