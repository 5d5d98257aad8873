"""How far the body moved in the phone's image: a check on the lifted repetitions, and
the repetitions where the lift misses them.

Repetitions are found in the lifted 3D (:func:`scoring.alignment.segment_reps`), but
the lifter is not linear in the motion: it lifts a real deep squat's 150 deg knee bend at
50-90 deg and a 20 deg dip between repetitions at its full size, so on real squats the
dips rose to half the session's peak and counted as repetitions of their own (7 counted
for 4, with "shallow squat" cues on them). The image has no such bias: it shows where
the joints are, and a dip that hardly moves the hips and knees in the image hardly
moves them in the world. So a repetition the 3D shows must also show in the image: a 3D
peak is kept when the body's displacement in the image around it reaches the share of
the session's peak displacement that the 3D rule asks of a repetition
(:data:`scoring.alignment.REP_HEIGHT`); where the image shows too few joints it has no
say. The check only ever removes peaks. Its price: the hips drop with the cosine of the
thigh's angle, so a squat bent a third as far as the session's deepest moves the body
about a quarter as much in the image and is not counted either (one such repetition in
600 simulated held-out clips; the share squared kept it, and most of the real dips too).

The lifter also errs the other way: on some front views of real deep squats its activity
drifts away from the start pose while each squat adds a tenth of it, so no peak stands
out and four squats counted as one. Where the image's own peaks, found by the same rules
on the displacement, hold the lifted ones it keeps and two more
(:meth:`ImageTrack.peaks_beyond`), they are the repetitions
(:func:`scoring.alignment.segment_reps`, and live :class:`scoring.live_reps.RepTracker`).

The displacement is measured as a stream (:class:`ImageTrack`), so that a live session
and a recording measure it alike: the rest position of each body joint is its median
over the first REST_S of frames that show MIN_JOINTS of them, and a frame's displacement
is the root mean square over its seen joints, each left/right pair taken the nearer way
round (a detector's left/right swap is not motion).
"""

from __future__ import annotations

import warnings

import numpy as np

from scoring.activity_track import GrowingArray, SmoothedActivity
from scoring.alignment import REP_HEIGHT, rep_peaks

# MediaPipe-33 left/right pairs of shoulders, elbows, wrists, hips, knees and ankles: the
# joints a phone sees best and every exercise moves (face, hands and feet add detector
# noise, not motion).
BODY_PAIRS = ((11, 12), (13, 14), (15, 16), (23, 24), (25, 26), (27, 28))
BODY_JOINTS = tuple(joint for pair in BODY_PAIRS for joint in pair)
MIN_SCORE = 0.5  # a landmark below this confidence is not counted as seen
MIN_JOINTS = 4  # a frame needs this many seen body joints to say how far the body moved
REST_S = 0.3  # the rest position: the median over this much of the first such frames
REST_WAIT_S = 2.0  # or over those within this long of the first (a body seen on and off)
PEAK_WINDOW_S = 0.2  # the image's peak may lead or lag the lifted one by this much
# The image's own repetitions replace the lifted ones where they are this many more: one
# more is what a repetition cut at a stretch's edge, or a next peak still rising, gives;
# a lift that flattens real squats misses them throughout (1-2 of 4 counted).
IMAGE_LEAD_REPS = 2


class ImageTrack:
    """The body's displacement from its rest position in the image (pixels), frame by
    frame (:class:`~scoring.activity_track.SmoothedActivity`: smoothed, and its level).

    Frames from the body's first showing until its rest position is known wait for it
    (at most REST_WAIT_S); a frame with fewer than MIN_JOINTS seen joints keeps the
    displacement of the frame before (0 before any).
    """

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.rest_frames = max(3, int(REST_S * fps))
        self.activity = SmoothedActivity()
        self.seen = GrowingArray((), bool)  # (T,) frames with MIN_JOINTS seen joints
        self.rest: np.ndarray | None = None  # (pairs, 2, 2) pixels, NaN: never seen at rest
        self._waiting: list[tuple[np.ndarray, np.ndarray]] = []  # frames before the rest
        self._last = 0.0  # the displacement of the last frame that showed the body

    def extend(self, keypoints: np.ndarray, scores: np.ndarray) -> None:
        """Add the next frames' MediaPipe-33 ``keypoints`` ``(N, 33, 2)`` pixels (NaN where
        unseen) and ``scores`` ``(N, 33)``."""
        points = np.asarray(keypoints, dtype=np.float64)[:, BODY_JOINTS].reshape(-1, 6, 2, 2)
        seen = (np.asarray(scores)[:, BODY_JOINTS] >= MIN_SCORE).reshape(-1, 6, 2)
        seen &= np.isfinite(points).all(axis=3)
        if self.rest is None:
            if not self._waiting:  # before the body first shows, nothing has moved
                shows = seen.sum(axis=(1, 2)) >= MIN_JOINTS
                before = int(np.argmax(shows)) if shows.any() else len(points)
                self._record(np.zeros(before), np.zeros(before, bool))
                points, seen = points[before:], seen[before:]
                if not len(points):
                    return
            self._waiting.append((points, seen))
            waiting_points = np.concatenate([p for p, _ in self._waiting])
            waiting_seen = np.concatenate([s for _, s in self._waiting])
            showing = np.flatnonzero(waiting_seen.sum(axis=(1, 2)) >= MIN_JOINTS)
            if len(showing) < self.rest_frames and len(waiting_points) < REST_WAIT_S * self.fps:
                return
            chosen = showing[: self.rest_frames]
            at_rest = np.where(waiting_seen[chosen, ..., None], waiting_points[chosen], np.nan)
            with warnings.catch_warnings():  # a joint never seen at rest stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                self.rest = np.nanmedian(at_rest, axis=0)
            self._waiting = []
            points, seen = waiting_points, waiting_seen
        self._add(points, seen)

    def _add(self, points: np.ndarray, seen: np.ndarray) -> None:
        """Measure frames ``points`` ``(N, 6, 2, 2)`` (pairs, left/right, xy) with ``seen``
        ``(N, 6, 2)`` against the rest position."""
        seen = seen & np.isfinite(self.rest).all(axis=2)
        straight = ((points - self.rest) ** 2).sum(axis=3)  # (N, 6, 2)
        crossed = ((points - self.rest[:, ::-1]) ** 2).sum(axis=3)
        both = seen.all(axis=2)
        # A pair seen whole is matched the nearer way round; a lone joint, to the nearer
        # rest of its pair (its own when its partner never rested in view).
        pair_sum = np.where(
            both,
            np.minimum(straight.sum(axis=2), crossed.sum(axis=2)),
            np.where(seen, np.fmin(straight, crossed), 0.0).sum(axis=2),
        )
        counted = seen.sum(axis=(1, 2))
        showing = counted >= MIN_JOINTS
        rms = np.sqrt(pair_sum.sum(axis=1) / np.maximum(counted, 1))
        # An unseen frame holds the value of the last frame that showed the body.
        last_shown = np.maximum.accumulate(np.where(showing, np.arange(len(points)), -1))
        distances = np.where(last_shown >= 0, rms[np.maximum(last_shown, 0)], self._last)
        if showing.any():
            self._last = float(distances[-1])
        self._record(distances, showing)

    def _record(self, distances: np.ndarray, showing: np.ndarray) -> None:
        """Append frames' displacements ``(N,)`` (pixels) and whether each showed the
        body ``(N,)``."""
        self.seen.extend(showing)
        self.activity.extend(distances)

    def shown(self, peaks: np.ndarray) -> np.ndarray:
        """The repetition peaks (frames of the same stream) the image confirms: within
        PEAK_WINDOW_S of the peak, the displacement reaches REP_HEIGHT of the session's
        peak displacement. Peaks where the image saw too few joints (or has not measured
        yet) are kept, and all of them while it shows no motion at all."""
        level = self.level()
        if len(peaks) == 0 or not level > 0:
            return peaks
        half = int(PEAK_WINDOW_S * self.fps)
        signal, seen = self.activity.signal.view, self.seen.view
        kept = []
        for peak in peaks:
            window = slice(max(0, int(peak) - half), int(peak) + half + 1)
            if not seen[window].any() or signal[window].max() >= REP_HEIGHT * level:
                kept.append(peak)
        return np.asarray(kept, dtype=np.asarray(peaks).dtype)

    def level(self) -> float:
        """The session's peak displacement so far (pixels; 0 before any motion)."""
        return self.activity.level()

    def peaks(self, min_rep_s: float = 0.4, after: int = -1) -> np.ndarray:
        """Frames of the repetition peaks the image shows on its own: the lifted
        activity's rules (:func:`scoring.alignment.rep_peaks`) on the displacement, with
        its own level; only peaks after frame ``after`` (its search starts there). No
        peaks while it has seen no motion."""
        level = self.level()
        if not level > 0:
            return np.zeros(0, dtype=np.intp)
        start = max(0, after)
        found = rep_peaks(self.activity.signal.view[start:], level, self.fps, min_rep_s) + start
        return found[found > after]

    def peaks_beyond(
        self, lifted: np.ndarray, min_rep_s: float = 0.4, after: int = -1
    ) -> np.ndarray | None:
        """The image's own peaks after frame ``after`` (:meth:`peaks`) where they are the
        repetitions rather than the ``lifted`` peaks (frames, those it showed): when they
        are IMAGE_LEAD_REPS more and hold every lifted one (within PEAK_WINDOW_S). Else
        ``None``. The image adds what the lift flattened; it does not overrule it where
        the two disagree (a squat seen side-on can move the body in the image twice, down
        and forward, where the lift shows one clear peak)."""
        own = self.peaks(min_rep_s, after)
        if len(own) < len(lifted) + IMAGE_LEAD_REPS:
            return None
        half = int(PEAK_WINDOW_S * self.fps)
        if any(np.abs(own - peak).min() > half for peak in lifted):
            return None
        return own


def image_track(keypoints: np.ndarray, scores: np.ndarray, fps: float) -> ImageTrack:
    """The displacement of a whole recording's body in MediaPipe-33 ``keypoints``
    ``(T, 33, 2)`` and ``scores`` ``(T, 33)`` filmed at ``fps``."""
    track = ImageTrack(fps)
    track.extend(keypoints, scores)
    return track
