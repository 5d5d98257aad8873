"""How large a request body may be, per endpoint.

Three kinds of body, each with its own limit:

* keypoints (the routes that read their JSON body by hand, :func:`~coach_api.json_requests.
  documented`): a limit derived from ``max_frames``, so that any sequence within the frame
  limit fits whatever the client's number formatting;
* videos (routes with a file upload): ``video_max_bytes``, passed on as it arrives (the
  form parser spools the file to disk);
* everything else (accounts, feedback, routine edits, invitations): ``max_body_bytes``.

For a gzip body the limit holds on the wire and again once decompressed.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import params

from coach_api.json_requests import reads_keypoint_body
from pose3d.sequence_json import INPUT_LAYOUTS
from pose3d.skeleton import get_layout

# The most joints a keypoint layout has (MediaPipe's 33), and the values of one: x, y, score.
MAX_JOINTS = max(get_layout(name).num_joints for name in INPUT_LAYOUTS)
VALUES_PER_JOINT = 3
# Bytes one value may take in JSON: a float64 written in full ("-12345.678901234567", 19
# characters), its ", " and its third of a joint's "[", "]" and ", ", rounded up. Phones
# send about 8 (a 6-minute MediaPipe session is 8.9 MB).
BYTES_PER_VALUE = 24
# Everything in a keypoint body besides the frames: the header, a routine's name, up to
# 20,000 beat times (about 20 bytes each).
OTHER_BYTES = 2**20


def keypoint_body_bytes(max_frames: int) -> int:
    """The largest keypoint body (bytes) a request of ``max_frames`` frames may need."""
    return max_frames * MAX_JOINTS * VALUES_PER_JOINT * BYTES_PER_VALUE + OTHER_BYTES


@dataclass(frozen=True)
class BodyLimit:
    """What one route's body may be: at most ``max_bytes`` (on the wire, and decompressed);
    ``streamed`` bodies (file uploads) are handed on as they arrive and never decompressed,
    others are read whole first. ``what`` names the body in error messages."""

    max_bytes: int
    streamed: bool
    what: str


@dataclass(frozen=True)
class BodyLimits:
    """The limit of each kind of body (see the module docstring)."""

    keypoints: BodyLimit
    video: BodyLimit
    other: BodyLimit

    @classmethod
    def from_settings(cls, settings) -> BodyLimits:
        return cls(
            keypoints=BodyLimit(keypoint_body_bytes(settings.max_frames), False, "keypoint body"),
            video=BodyLimit(settings.video_max_bytes, True, "video upload"),
            other=BodyLimit(settings.max_body_bytes, False, "request body"),
        )

    def for_route(self, route: object) -> BodyLimit:
        """The limit of the route a request was routed to (``scope["route"]``; ``None``
        when nothing matched)."""
        if reads_keypoint_body(route):
            return self.keypoints
        dependant = getattr(route, "dependant", None)
        body = dependant.body_params if dependant is not None else []
        if any(isinstance(field.field_info, params.File) for field in body):
            return self.video
        return self.other
