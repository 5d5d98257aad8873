"""Tracked experiments: a training or evaluation command as one MLflow run.

:func:`tracked_run` opens a run in an experiment of the store (:mod:`lifecycle.store`),
records the command's parameters (flattened to strings), the fingerprints of the data it
read (:func:`fingerprint`) and the command line, and yields a :class:`Tracker` for the
metrics (per epoch where there are epochs) and the files it wrote. The run ends FINISHED,
or FAILED when the body raises. ``enabled=False`` (``--no-track``) yields a tracker that
records nothing, so a command runs the same with and without a store.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lifecycle import store

MAX_PARAM_CHARS = 6000  # MLflow's limit on a parameter's value
BATCH = 1000  # MLflow's limit on metrics per log_batch call
CHUNK = 1 << 20  # fingerprints stream files a megabyte at a time
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")  # what MLflow accepts in metric and param keys


def metric_name(name: str) -> str:
    """``name`` with every character MLflow refuses in a key replaced by ``_``."""
    return _UNSAFE.sub("_", str(name)).strip("/") or "_"


def flatten(params: Mapping, prefix: str = "") -> dict[str, str]:
    """Nested ``params`` as ``{"a.b": "value"}``: nested mappings joined with dots, every
    other value as a string (lists and tuples as JSON), cut to MLflow's limit."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{name}.")
            continue
        if isinstance(value, list | tuple):
            text = json.dumps([str(v) if isinstance(v, Path) else v for v in value])
        else:
            text = str(value)
        flat[metric_name(name)] = text[:MAX_PARAM_CHARS]
    return flat


def fingerprint(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, or of a folder's files: each file's relative name
    (sorted, POSIX separators), size and bytes, streamed, so it is the same on any
    machine for the same data and changes when one byte, name or file does."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_file():
        files = [(path.name, path)]
    elif path.is_dir():
        files = sorted((p.relative_to(path).as_posix(), p) for p in path.rglob("*") if p.is_file())
    else:
        raise FileNotFoundError(f"nothing to fingerprint at {path}")
    for name, file in files:
        digest.update(f"{name}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def fingerprints(data: Mapping[str, Path | list[Path] | None]) -> dict[str, str]:
    """``{name: fingerprint}`` for each named path (a list: one fingerprint of theirs,
    in the given order); ``None`` and empty lists are left out."""
    prints: dict[str, str] = {}
    for name, value in data.items():
        if value is None or value == []:
            continue
        if isinstance(value, list):
            joined = "+".join(fingerprint(p) for p in value)
            prints[name] = hashlib.sha256(joined.encode()).hexdigest()
        else:
            prints[name] = fingerprint(value)
    return prints


def command_line() -> str:
    """The command as typed (``coach train --shards ...``)."""
    program = sys.argv[0]
    if program.endswith(("coach", "coach_cli/main.py")):  # the script or python -m coach_cli.main
        program = "coach"
    return shlex.join([program, *sys.argv[1:]])


class Tracker:
    """Logs into one run; ``run_id`` is ``""`` and every call does nothing when disabled."""

    def __init__(self, run_id: str = "") -> None:
        self.run_id = run_id

    @property
    def enabled(self) -> bool:
        return bool(self.run_id)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log the finite numbers of ``metrics`` (names sanitised) at ``step`` (an epoch)."""
        if not self.enabled:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [
            Metric(metric_name(name), float(value), now, step or 0)
            for name, value in metrics.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
            if math.isfinite(value)
        ]
        for start in range(0, len(batch), BATCH):
            store.client().log_batch(self.run_id, metrics=batch[start : start + BATCH])

    def log_step(self, step: int, metrics: Mapping[str, float]) -> None:
        """:meth:`log_metrics` as a training loop's ``on_epoch(epoch, metrics)`` callback."""
        self.log_metrics(metrics, step)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Copy a file, or a folder (as ``artifact_path`` or its own name), into the run."""
        if not self.enabled:
            return
        path = Path(path)
        if path.is_dir():
            store.client().log_artifacts(self.run_id, str(path), artifact_path or path.name)
        elif path.is_file():
            store.client().log_artifact(self.run_id, str(path), artifact_path)
        else:
            raise FileNotFoundError(f"no artifact at {path}")

    def set_tags(self, tags: Mapping[str, str]) -> None:
        if not self.enabled:
            return
        for key, value in tags.items():
            store.client().set_tag(self.run_id, metric_name(key), str(value)[:MAX_PARAM_CHARS])


@contextmanager
def tracked_run(
    experiment: str,
    run_name: str,
    params: Mapping,
    data: Mapping[str, str] | None = None,
    enabled: bool = True,
) -> Iterator[Tracker]:
    """One run of ``experiment``: ``params`` flattened, ``data`` (name -> fingerprint)
    as ``data.<name>`` parameters and tags, the command line as tag ``command``; FAILED
    if the body raises (the exception goes on), FINISHED otherwise."""
    if not enabled:
        yield Tracker()
        return
    from mlflow.entities import Param

    client = store.client()
    run_id = client.create_run(store.experiment_id(experiment), run_name=run_name).info.run_id
    try:
        data = dict(data or {})
        flat = flatten(params) | flatten(data, "data.")
        items = [Param(key, value) for key, value in flat.items()]
        for start in range(0, len(items), 100):  # MLflow takes 100 params per batch
            client.log_batch(run_id, params=items[start : start + 100])
        tracker = Tracker(run_id)
        tracker.set_tags({"command": command_line()} | {f"data.{k}": v for k, v in data.items()})
        yield tracker
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
