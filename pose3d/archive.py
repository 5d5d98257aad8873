"""Deterministic zip archives of arrays and JSON, and atomic file writes.

Used for every file the project writes that must be reproducible byte for byte (clip
files, training shards): members are stored in the given order with a fixed timestamp,
so the same content always gives the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def npy_bytes(array: np.ndarray) -> bytes:
    """The ``.npy`` encoding of ``array`` (no pickles)."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def json_bytes(value: object) -> bytes:
    """Stable JSON encoding (sorted keys)."""
    return json.dumps(value, sort_keys=True, indent=1).encode()


def pack(members: dict[str, bytes], compresslevel: int = 6) -> bytes:
    """A deflated zip of ``members`` (name -> bytes) with fixed timestamps.

    Float arrays (training shards) barely compress further at higher levels, so a low
    ``compresslevel`` (1) saves time there at little cost in size.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=compresslevel)
    return buffer.getvalue()


def unpack(data: bytes) -> dict[str, bytes]:
    """Members of a zip made by :func:`pack`; raises ``zipfile.BadZipFile`` if broken."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def read_npy(data: bytes) -> np.ndarray:
    return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)


def atomic_write(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place with
    permissions ``mode`` (the temporary file is 0600 until then)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_savez(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """``np.savez`` of ``arrays`` to ``path``, written whole or not at all (a cache that a
    killed run left half-written would fail, or mislead, the next run that loads it)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return atomic_write(path, buffer.getvalue())
