"""Schemathesis hooks for ``coach fuzz-api`` (loaded through ``SCHEMATHESIS_HOOKS``).

The video uploads name their part's media types (``video/mp4`` ...), which schemathesis
cannot make by itself: it gets short random bytes of each. Not a video, so the job fails
with its reason, as a corrupt upload does.

"""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

from pose2d.video import VIDEO_TYPES

for media_type in VIDEO_TYPES:
    schemathesis.openapi.media_type(media_type, st.binary(min_size=1, max_size=64))
