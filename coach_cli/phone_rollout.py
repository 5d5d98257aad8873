"""``coach export-phone``: a registered version of the live lifter exported for phones,
beside the versions exported before, for the API to serve the champion or a pinned one.

The layout of ``--out`` (what ``coach_api.phone_models`` reads; the API's
``settings.phone_artifacts``)::

    versions.json   {"champion": "3", "versions": [{"version": "3", "label": ...,
                     "min_app_version": "1.2.0", "formats": [...], "quantization": ...,
                     "exported_at": ...}, ...]}   newest first
    3/              lifter.json (the sidecar) and the artifacts of version 3
    2/              ...

Nothing is half-written for the API to find: a version is exported into a hidden folder
beside its place and renamed into it, then the index is rewritten to a temporary file and
renamed over the old one. A crash or a failing export leaves the old index, and at worst a
hidden ``.N-*`` folder that nothing reads.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from lifecycle import registry

KIND = "lifter-causal"  # the phone runs the live (causal) lifter
INDEX = "versions.json"


@dataclass(frozen=True)
class Rollout:
    """What an export did: the version written, its folder, the index's champion."""

    version: str
    folder: Path
    champion: str | None


def read_index(out: Path) -> dict:
    """The index of ``out`` (an empty one when there is none yet)."""
    path = Path(out) / INDEX
    if not path.is_file():
        return {"champion": None, "versions": []}
    return json.loads(path.read_text())


def write_index(out: Path, index: dict) -> Path:
    """Replace ``out``'s index with ``index`` in one rename: readers see the old or the new."""
    path = Path(out) / INDEX
    handle, staging = tempfile.mkstemp(dir=out, prefix=f".{INDEX}-")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(json.dumps(index, indent=1) + "\n")
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return path


def _move_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; a version exported before is swapped out first
    (its folder is missing for the moment between the two renames, never half there)."""
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-old-"))
    os.replace(target, retired / target.name)
    os.replace(staging, target)
    shutil.rmtree(retired, ignore_errors=True)


def export_version(
    out: Path,
    ref: str,
    formats: list[str],
    quantize: str,
    min_app_version: str | None = None,
    set_champion: bool = False,
    cache_dir: Path | None = None,
) -> Rollout:
    """Export version ``ref`` (a number or an alias) of the registered live lifter into
    ``out/<version>/`` and list it in ``out/versions.json``.

    ``min_app_version`` (``X.Y.Z``) defaults to the version's card. The index's champion
    becomes this version with ``set_champion``; otherwise it follows the registry's
    ``champion`` alias when that version is exported here, and stays as it was when not.
    ``ValueError`` / ``LookupError`` say what is wrong before anything is written.
    """
    from mobile_export.export import APP_VERSION, export_all

    if min_app_version is not None and not APP_VERSION.fullmatch(min_app_version):
        raise ValueError(f"--min-app-version must be X.Y.Z (numbers), not {min_app_version!r}")
    fetched = registry.fetch(KIND, ref, cache_dir)
    minimum = min_app_version or fetched.card.min_app_version
    if not minimum:
        raise ValueError(
            f"version {fetched.version}'s card names no min_app_version: pass --min-app-version"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=f".{fetched.version}-"))
    try:
        export_all(staging, formats, quantize, fetched.file("lifter.pt"), fetched.version, minimum)
        _move_into_place(staging, out / fetched.version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    index = read_index(out)
    entry = {
        "version": fetched.version,
        "label": fetched.card.label,
        "min_app_version": minimum,
        "formats": sorted(formats),
        "quantization": quantize,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    listed = [e for e in index["versions"] if e["version"] != fetched.version] + [entry]
    listed.sort(key=lambda e: int(e["version"]), reverse=True)
    exported = {e["version"] for e in listed}
    champion = registry.alias_version(KIND, "champion")
    if set_champion:
        champion = fetched.version
    elif champion not in exported:
        champion = index["champion"]
    write_index(out, {"champion": champion, "versions": listed})
    return Rollout(fetched.version, out / fetched.version, champion)


def export_phone(
    version: Annotated[
        str, typer.Option(help="A registered version of the live lifter (a number), or champion.")
    ],
    out: Annotated[
        Path, typer.Option(help="The API's phone model folder (its phone_artifacts).")
    ] = Path("coach-data/models"),
    min_app_version: Annotated[
        str | None, typer.Option(help="Oldest app (X.Y.Z) that runs it; default: its card's.")
    ] = None,
    format: Annotated[str, typer.Option(help="coreml, onnx or all.")] = "all",
    quantize: Annotated[str, typer.Option(help="none, fp16 or int8.")] = "fp16",
    set_champion: Annotated[
        bool, typer.Option(help="Serve it as the champion (default: the registry's champion).")
    ] = False,
) -> None:
    """Export a registered lifter version for phones into OUT/<version>, listed in
    OUT/versions.json with its minimum app version and which version is the champion."""
    from mobile_export.export import FORMATS

    formats = list(FORMATS) if format == "all" else [format]
    try:
        done = export_version(out, version, formats, quantize, min_app_version, set_champion)
    except (ValueError, LookupError) as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"wrote {done.folder}; champion: {done.champion or 'none'} ({out / INDEX})")
