"""Which exported phone models a request gets: the champion or a pinned version, for the
app asking.

``settings.phone_artifacts`` holds one of two layouts, read from disk on each request (no
registry, no MLflow: the phone routes serve files):

* ``versions.json`` (written by ``coach export-phone``) and one folder per version,
  ``<version>/lifter.json`` beside its artifacts. The index says which is the champion and
  each version's ``min_app_version``::

      {"champion": "3", "versions": [{"version": "3", "min_app_version": "1.2.0", ...}, ...]}

* no index: ``lifter.json`` and its artifacts at the top (``coach export --out``), served
  as the one version ``bundled``, which is also the champion.

An app names its version in ``X-App-Version`` (``X.Y.Z``). A pinned version it is too old
for is refused (409 ``app_too_old``, naming the minimum); asking for the champion, it gets
the newest version older than the champion that it can run instead, or the same 409.
Without the header nothing is checked: apps released before the header existed keep
getting what they ask for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from coach_api.errors import ApiError

INDEX = "versions.json"
SIDECAR = "lifter.json"
BUNDLED = "bundled"
CHAMPION = "champion"
# What ``?version=`` accepts: the champion, the bundled model or a registered version number.
VERSION_PATTERN = r"^(champion|bundled|[0-9]{1,9})$"
APP_VERSION_PATTERN = r"^[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}$"
APP_VERSION_FIELD = "header.X-App-Version"
ANY_APP = "0.0.0"  # a sidecar written before sidecars named their minimum


@dataclass(frozen=True)
class Exported:
    """One exported version: its folder (the sidecar and artifacts) and oldest app."""

    version: str
    min_app_version: str
    folder: Path


@dataclass(frozen=True)
class Choice:
    """The version a request is served and the champion's (``None``: no champion)."""

    exported: Exported
    champion: str | None

    @property
    def headers(self) -> dict[str, str]:
        """``X-Model-Version`` always; ``X-Model-Champion`` when there is a champion (the
        two differ when the app was served something else)."""
        headers = {"X-Model-Version": self.exported.version}
        if self.champion is not None:
            headers["X-Model-Champion"] = self.champion
        return headers


def semver(text: str) -> tuple[int, int, int]:
    """``"1.10.0"`` -> ``(1, 10, 0)``: versions compare as numbers, not as text."""
    major, minor, patch = (int(part) for part in text.split("."))
    return major, minor, patch


def _not_exported(root: Path) -> ApiError:
    return ApiError(
        404,
        "not_exported",
        f"no phone models exported; run `coach export-phone --out {root}` "
        f"(or `coach export --out {root}` for the bundled model)",
    )


def exported_versions(root: Path) -> tuple[list[Exported], str | None]:
    """Every exported version, newest first, and the champion's version (``None``: the
    index names none). ``ApiError`` 404 when nothing is exported."""
    index = root / INDEX
    if index.is_file():
        listed = json.loads(index.read_text())
        found = [
            Exported(entry["version"], entry["min_app_version"], root / entry["version"])
            for entry in listed["versions"]
        ]
        found.sort(key=lambda exported: int(exported.version), reverse=True)
        return found, listed.get("champion")
    sidecar = root / SIDECAR
    if not sidecar.is_file():
        raise _not_exported(root)
    minimum = json.loads(sidecar.read_text()).get("min_app_version", ANY_APP)
    return [Exported(BUNDLED, minimum, root)], BUNDLED


def _too_old(exported: Exported, app_version: str, what: str) -> ApiError:
    minimum = exported.min_app_version
    return ApiError(
        409,
        "app_too_old",
        f"{what} (model version {exported.version}) needs app version {minimum} or newer; "
        f"this app is {app_version}",
        APP_VERSION_FIELD,
        headers={"X-Min-App-Version": minimum},
    )


def choose(root: Path, requested: str, app_version: str | None) -> Choice:
    """The version to serve for ``requested`` (``"champion"``, ``"bundled"`` or a number)
    to an app of ``app_version`` (``X.Y.Z``, or ``None``: not checked). ``ApiError``: 404
    naming an unknown version, 409 ``app_too_old`` naming the minimum."""
    found, champion = exported_versions(root)

    def runs(exported: Exported) -> bool:
        return app_version is None or semver(app_version) >= semver(exported.min_app_version)

    by_version = {exported.version: exported for exported in found}
    if requested != CHAMPION:
        if requested not in by_version:
            known = ", ".join(by_version) or "none"
            message = f"no exported version {requested!r} (exported: {known})"
            raise ApiError(404, "not_found", message, "version")
        if not runs(by_version[requested]):
            raise _too_old(by_version[requested], app_version, f"version {requested}")
        return Choice(by_version[requested], champion)
    if champion is None or champion not in by_version:
        raise _not_exported(root)
    best = by_version[champion]
    if runs(best):
        return Choice(best, champion)
    # Only versions before the champion: a later one is a challenger or one rolled back.
    older = [] if champion == BUNDLED else [e for e in found if int(e.version) < int(champion)]
    for exported in older:
        if runs(exported):
            return Choice(exported, champion)
    raise _too_old(best, app_version, "the champion")
