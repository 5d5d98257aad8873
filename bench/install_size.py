"""What each install of the project costs: ``python -m bench.install_size``.

For the core and each extra of pyproject.toml, the distributions a ``pip install
'.[EXTRA]'`` brings in (the requirements' closure, read from pyproject.toml and the
installed distributions' metadata, markers and extras evaluated) and their installed size
(the files each distribution's RECORD lists, as they are on disk here). Measured in the
development environment, which holds every extra: nothing is installed or downloaded.
Writes ``bench/results/install_size.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

from bench.common import RESULTS_DIR

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def canonical(name: str) -> str:
    """A distribution's name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_requirements(extras: tuple[str, ...], pyproject: Path = PYPROJECT) -> list[str]:
    """The core's requirements and those of ``extras``, with the project's references to
    its own extras (``fitness-coach[api,...]``) expanded."""
    project = tomllib.loads(pyproject.read_text())["project"]
    name, optional = canonical(project["name"]), project.get("optional-dependencies", {})
    requirements, pending, done = list(project["dependencies"]), list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in done:
            continue
        done.add(extra)
        for text in optional[extra]:
            requirement = Requirement(text)
            if canonical(requirement.name) == name:
                pending.extend(requirement.extras)
            else:
                requirements.append(text)
    return requirements


def _applies(requirement: Requirement, extras: set[str]) -> bool:
    """Whether a requirement of a distribution installed with ``extras`` holds here: one
    without an ``extra`` marker whenever the platform matches, the others for a chosen
    extra."""
    if requirement.marker is None:
        return True
    environment = default_environment()
    return any(
        requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras | {""}
    )


def closure(requirements: list[str]) -> dict[str, metadata.Distribution]:
    """Every distribution ``requirements`` need, transitively: canonical name ->
    the installed distribution. Raises PackageNotFoundError for one not installed here."""
    found: dict[str, metadata.Distribution] = {}
    wanted: dict[str, set[str]] = {}  # name -> the extras already followed
    # Requirements that hold here (markers are evaluated where they are read: a
    # dependency's ``extra`` marker names its parent's extras).
    pending = [r for r in map(Requirement, requirements) if _applies(r, set())]
    while pending:
        requirement = pending.pop()
        name = canonical(requirement.name)
        followed = wanted.setdefault(name, set())
        new_extras = set(requirement.extras) - followed
        if name in found and not new_extras:
            continue
        followed |= new_extras
        dist = found.setdefault(name, metadata.distribution(name))
        for text in dist.requires or ():
            dependency = Requirement(text)
            if _applies(dependency, followed):
                pending.append(dependency)
    return found


def installed_bytes(dist: metadata.Distribution) -> int:
    """The size on disk of the files ``dist``'s RECORD lists (compiled ``.pyc`` files
    included: pip writes them at install time)."""
    total = 0
    for file in dist.files or ():
        path = Path(dist.locate_file(file))
        if path.is_file():
            total += path.stat().st_size
    return total


def measure(extras: tuple[str, ...]) -> dict[str, object]:
    """Distributions and installed MB of ``pip install '.[extras]'`` (the project's own
    files left out: they are the same in every install)."""
    found = closure(project_requirements(extras))
    sizes = {name: installed_bytes(dist) for name, dist in found.items()}
    biggest = sorted(sizes, key=sizes.get, reverse=True)[:5]
    return {
        "install": f".[{','.join(extras)}]" if extras else ". (core)",
        "distributions": len(found),
        "installed_mb": round(sum(sizes.values()) / 2**20),
        "largest": ", ".join(f"{name} {sizes[name] / 2**20:.0f}" for name in biggest),
    }


INSTALLS = [(), ("api",), ("batch",), ("export",), ("train",), ("dev",)]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    rows = [measure(extras) for extras in INSTALLS]
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "install_size.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "| install | distributions | installed MB | largest (MB) |",
        "|---|---|---|---|",
        *(
            f"| `{r['install']}` | {r['distributions']} | {r['installed_mb']} | {r['largest']} |"
            for r in rows
        ),
    ]
    table = "\n".join(lines)
    (RESULTS_DIR / "install_size.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
