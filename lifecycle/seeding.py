"""``coach models seed``: the bundled models as the first champions of an empty registry."""

from __future__ import annotations

import tempfile
from pathlib import Path

from lifecycle import registry
from lifecycle.bundled import bundled_card, bundled_folder


def seed_bundled() -> dict[str, str]:
    """Register each kind's bundled model as its version 1 and make it champion;
    ``ValueError`` (nothing registered) if any kind already has a version, so a seed
    never shadows models trained since."""
    taken = [kind for kind in registry.KINDS if registry.versions(kind)]
    if taken:
        raise ValueError(f"the registry already holds versions of {', '.join(taken)}")
    seeded = {}
    for kind in registry.KINDS:
        with tempfile.TemporaryDirectory() as staging:
            folder = bundled_folder(kind, Path(staging))
            version = registry.register(kind, folder, bundled_card(kind))
        registry.set_alias(kind, "champion", version)
        seeded[kind] = version
    return seeded
