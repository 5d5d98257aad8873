// The session's clock: play, pause, seek; tells its listeners the current time.

export class Player {
  /** ``duration`` in seconds; ``fps`` of the motion (the seek step). */
  constructor(duration, fps) {
    this.duration = duration;
    this.fps = fps;
    this.time = 0;
    this.playing = false;
    this.listeners = [];
    this.frame = null;
    this.last = null;
  }

  /** ``listener(time, playing)`` after every change. */
  onChange(listener) {
    this.listeners.push(listener);
  }

  emit() {
    for (const listener of this.listeners) listener(this.time, this.playing);
  }

  /** The motion's frame shown at the current time. */
  frameIndex(frames) {
    return Math.min(frames - 1, Math.max(0, Math.round(this.time * this.fps)));
  }

  play() {
    if (this.playing) return;
    if (this.time >= this.duration) this.time = 0; // at the end: from the start again
    this.playing = true;
    this.last = null;
    this.frame = requestAnimationFrame((now) => this.tick(now));
    this.emit();
  }

  pause() {
    this.playing = false;
    cancelAnimationFrame(this.frame);
    this.emit();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  /** Go to ``time`` seconds (clamped to the session). */
  seek(time) {
    this.time = Math.min(this.duration, Math.max(0, time));
    this.emit();
  }

  tick(now) {
    if (!this.playing) return;
    if (this.last !== null) this.time += (now - this.last) / 1000; // real time, any refresh rate
    this.last = now;
    if (this.time >= this.duration) {
      this.time = this.duration;
      this.pause();
      return;
    }
    this.emit();
    this.frame = requestAnimationFrame((next) => this.tick(next));
  }

  stop() {
    this.playing = false;
    cancelAnimationFrame(this.frame);
    this.listeners = [];
  }
}
