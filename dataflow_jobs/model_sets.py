"""The model sets a batch re-scoring compares: where each set's files come from, and
their copy in the job's output that the workers read.

A set is the models the API scores a recorded session with: the recordings lifter
(``lifter.pt``), the detector (``population.json`` and its detector files) and the knee
network (``knee_net.pt``, ``knee_net.json``), under the file names of a registry version
(:data:`lifecycle.registry.KINDS`). Each is named by a spec:

* ``bundled``: the models that ship with the package (:mod:`lifecycle.bundled`);
* ``registry:REF``: version ``REF`` of the model registry (an alias such as ``champion``
  or ``challenger``, or a number), fetched with :func:`lifecycle.registry.fetch`;
* a local folder holding the kind's files (for the lifter also a ``.pt`` file).

A whole set takes one spec; a kind's own spec overrides it (``--candidate-detector``).
Specs are resolved where the job is launched, and the files copied under the output
(``models/<set>/``, local or ``gs://``), so that Dataflow's workers need neither the
registry nor the launcher's disk; ``set.json`` there records what each kind was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dataflow_jobs import fileio

SETS = ("champion", "candidate")
# The kinds of a set: the registry's kind names, and the option suffix naming each.
SET_KINDS = {"lifter": "lifter-recordings", "detector": "detector", "knee-net": "knee-net"}
SET_FILE = "set.json"
REGISTRY_PREFIX = "registry:"


@dataclass(frozen=True)
class Resolved:
    """One kind of a set on local disk: its ``files`` (version file name -> path) and
    what they are (``spec`` as given, registry ``version`` if any, ``label``)."""

    kind: str
    spec: str
    files: dict[str, Path]
    version: str = ""
    label: str = ""


def _kind_files(kind: str) -> tuple[str, ...]:
    from lifecycle.registry import kind_of

    return kind_of(kind).files


def resolve(kind: str, spec: str, scratch: Path) -> Resolved:
    """The files ``spec`` names for ``kind`` (see the module doc); ``ValueError`` saying
    what is missing, ``LookupError`` for a registry version that does not exist."""
    spec = spec.strip()
    if spec == "bundled":
        from lifecycle.bundled import bundled_files, bundled_label

        return Resolved(kind, spec, bundled_files(kind), label=bundled_label(kind))
    if spec.startswith(REGISTRY_PREFIX):
        from lifecycle.registry import fetch

        ref = spec.removeprefix(REGISTRY_PREFIX)
        if not ref:
            raise ValueError(f"{spec!r}: name an alias or a version after {REGISTRY_PREFIX}")
        fetched = fetch(kind, ref, scratch / "registry-cache")
        files = {name: fetched.file(name) for name in _kind_files(kind)}
        return Resolved(kind, spec, files, fetched.version, fetched.card.label)
    path = Path(spec)
    if path.is_file() and _kind_files(kind) == ("lifter.pt",):
        return Resolved(kind, spec, {"lifter.pt": path}, label=path.name)
    if not path.is_dir():
        raise ValueError(f"{spec!r} is not bundled, registry:REF nor a folder")
    missing = [name for name in _kind_files(kind) if not (path / name).is_file()]
    if missing:
        raise ValueError(f"{spec} has no {kind} model: missing {', '.join(missing)}")
    return Resolved(kind, spec, {name: path / name for name in _kind_files(kind)})


def resolve_set(
    whole: str | None, overrides: dict[str, str | None], scratch: Path
) -> list[Resolved]:
    """Every kind of one set: its own spec from ``overrides`` (keys of
    :data:`SET_KINDS`), else ``whole``; ``ValueError`` when a kind has neither."""
    resolved = []
    for option, kind in SET_KINDS.items():
        spec = overrides.get(option) or whole
        if not spec:
            raise ValueError(f"no model for {kind}: give the set's spec or its --*-{option}")
        resolved.append(resolve(kind, spec, scratch))
    return resolved


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def stage_sets(sets: dict[str, list[Resolved]], output: str) -> dict[str, dict]:
    """Copy each set's files to ``output/models/<set>/`` with its ``set.json``; returns
    the set descriptions (kind -> spec, version, label, file digests)."""
    described = {}
    for name, resolved in sets.items():
        folder = fileio.join(output, "models", name)
        description = {}
        for item in resolved:
            for file_name, path in item.files.items():
                fileio.write_bytes(fileio.join(folder, file_name), path.read_bytes())
            description[item.kind] = {
                "spec": item.spec,
                "version": item.version,
                "label": item.label,
                "sha256": {n: _sha256(p)[:16] for n, p in sorted(item.files.items())},
            }
        fileio.write_bytes(
            fileio.join(folder, SET_FILE), (json.dumps(description, indent=1) + "\n").encode()
        )
        described[name] = description
    return described


def resolve_and_stage(specs: dict[str, dict], output: str) -> dict[str, dict]:
    """Resolve ``specs`` (set -> {"whole": spec, option: spec}) and stage them under
    ``output``; the registry's downloads go to a scratch folder removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="coach-model-sets-"))
    try:
        sets = {name: resolve_set(spec.get("whole"), spec, scratch) for name, spec in specs.items()}
        return stage_sets(sets, output)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def load_set(output: str, name: str):
    """The lifter and population model (with its detector and the knee network the
    detector reads) of staged set ``name``, read by a worker: ``(Lifter, PopulationModel)``."""
    from pose3d.lifter import Lifter
    from scoring.knee_net import KneeNet
    from scoring.population import PopulationModel

    folder = fileio.localise_folder(fileio.join(output, "models", name))
    lifter = Lifter.from_checkpoint(folder / "lifter.pt")
    population = PopulationModel.load(
        folder / "population.json", KneeNet.load(folder / "knee_net.pt")
    )
    if population is None:
        raise ValueError(f"model set {name} has no population.json")
    return lifter, population
