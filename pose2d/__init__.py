"""Phone and video 2D keypoints: the front end before lifting.

``task_builder`` assembles MediaPipe's pose landmarker model offline (``coach-api
pose-task``), ``video`` turns an uploaded video into MediaPipe-33 keypoints on the server
(decoding, bounding and detecting frames one at a time). ``front_end`` repairs what the
detector gets wrong before any 2D sequence is lifted: ``identity`` blanks the frames
where the tracker followed someone else, ``swaps`` exchanges back left/right labels the
detector swapped (both measured by ``coach evaluate-front-end``). Imports ``pose3d``
only; never the service (``coach_api`` passes its settings in as arguments).
"""

from pose2d.front_end import CleanedKeypoints, clean_keypoints
from pose2d.identity import IdentityTrack, follow_person
from pose2d.swaps import SwapRepair, repair_swaps

__all__ = [
    "CleanedKeypoints",
    "IdentityTrack",
    "SwapRepair",
    "clean_keypoints",
    "follow_person",
    "repair_swaps",
]
