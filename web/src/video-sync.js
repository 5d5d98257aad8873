// The session's kept video beside the 3D player, on one clock: playing, pausing or
// seeking either one moves the other (the error timeline seeks the player, so both).
import { apiBlob } from "./api.js";
import { errorBox, h } from "./dom.js";

// While both play, each runs on its own clock: they are nudged together only past this
// drift (seconds), since every jump of a playing video stutters. Paused, they agree.
const PLAYING_DRIFT_S = 0.25;
const PAUSED_DRIFT_S = 0.01;

/** The <video> for session ``sessionId`` kept in step with ``player``. Returns {element,
 * stop()}; ``stop`` releases the downloaded video. */
export function syncedVideo(sessionId, player) {
  const video = h("video", {
    id: "session-video",
    controls: true,
    muted: true, // as the player: silent until the person turns the sound on
    playsInline: true,
    preload: "auto",
    "aria-label": "Your video, in step with the 3D player",
  });
  const element = h("figure", { class: "session-video" }, video, h("figcaption", { class: "hint" }, "Your video (kept at your request)"));
  video.addEventListener("error", () =>
    element.append(h("p", { class: "error", role: "alert" }, "This browser cannot play the video's format (WebM or H.264 MP4 play everywhere).")),
  );
  let url = null;
  let stopped = false;

  apiBlob(`/sessions/${sessionId}/video`)
    .then((blob) => {
      if (stopped) return;
      url = URL.createObjectURL(blob);
      video.src = url;
      video.currentTime = player.time;
    })
    .catch((error) => element.append(errorBox(error)));

  player.onChange((time, playing) => {
    const drift = Math.abs(video.currentTime - time);
    if (drift > (playing ? PLAYING_DRIFT_S : PAUSED_DRIFT_S)) video.currentTime = time;
    if (playing && video.paused) video.play().catch(() => {}); // e.g. no data yet: the player goes on
    if (!playing && !video.paused) video.pause();
  });
  // The video's own controls drive the player; the player's echo finds them agreeing.
  video.addEventListener("play", () => player.play());
  video.addEventListener("pause", () => {
    if (!video.ended) player.pause();
  });
  video.addEventListener("seeking", () => {
    if (Math.abs(video.currentTime - player.time) > PAUSED_DRIFT_S) player.seek(video.currentTime);
  });

  return {
    element,
    stop() {
      stopped = true;
      video.pause();
      if (url) URL.revokeObjectURL(url);
    },
  };
}
