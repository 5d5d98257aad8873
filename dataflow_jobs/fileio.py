"""Reading and writing through Beam's FileSystems, so local paths and gs:// URLs both work."""

from __future__ import annotations

import os
import posixpath
import tempfile
from pathlib import Path

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions

from pose3d.archive import atomic_write


def configure(options: PipelineOptions) -> None:
    """Use ``options`` for file access outside pipeline steps too (listing inputs,
    writing summaries). Against a storage emulator (``STORAGE_EMULATOR_HOST``) no
    credentials are looked up: the emulator needs none."""
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        options.view_as(GoogleCloudOptions).no_auth = True
        _skip_beam_credential_lookup()
    FileSystems.set_options(options)


def _skip_beam_credential_lookup() -> None:
    """Beam's GcsIO looks for Application Default Credentials even with --no_auth,
    retrying for about 20 s before it falls back to an anonymous client. Against an
    emulator, record "no credentials" in its per-process cache up front (an internal of
    apache-beam 2.77; if it moves, the lookup simply runs as before)."""
    try:
        from apache_beam.internal.gcp.auth import _Credentials
    except ImportError:
        return
    with _Credentials._credentials_lock:
        _Credentials._credentials = None
        _Credentials._credentials_init = True


def join(base: str, *parts: str) -> str:
    """Join path parts for local paths and URLs alike."""
    return FileSystems.join(base, *parts)


def is_remote(path: str) -> bool:
    return "://" in path


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path) as handle:
        return handle.read()


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once: temp then rename, so a killed run leaves
    either the old file or the complete new one, never half a file."""
    if not is_remote(path):
        atomic_write(path, data)
        return
    tmp = f"{path}.inprogress"
    with FileSystems.create(tmp) as handle:
        handle.write(data)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def exists(path: str) -> bool:
    return FileSystems.exists(path)


def match(pattern: str) -> list[str]:
    """Paths matching ``pattern`` (``**`` allowed), sorted."""
    results = FileSystems.match([pattern])[0].metadata_list
    return sorted(m.path for m in results)


def localise_folder(folder: str) -> Path:
    """A local copy of a (possibly remote) folder; local folders are returned as they are."""
    if not is_remote(folder):
        return Path(folder)
    local = Path(tempfile.mkdtemp(prefix="coach-"))
    prefix = folder.rstrip("/") + "/"
    for path in match(prefix + "**"):
        relative = path[len(prefix) :]
        target = local / posixpath.normpath(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(read_bytes(path))
    return local
