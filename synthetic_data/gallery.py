"""Preview sheets of every movement, done correctly and with a form error, for the docs."""

from __future__ import annotations

from pathlib import Path

from synthetic_data.errors import ERROR_KINDS, ErrorPlan
from synthetic_data.generator import ClipRequest, generate_clip
from synthetic_data.movements import MOVEMENTS
from synthetic_data.preview import contact_sheet


def write_gallery(out: str | Path, frames: int = 6) -> list[Path]:
    """Write ``<movement>-correct.png`` and ``<movement>-<error>.png`` for each movement."""
    out = Path(out)
    written = []
    for index, movement in enumerate(MOVEMENTS.values()):
        kind = movement.error_kinds[0]
        side = ERROR_KINDS[kind].segments[0]
        reps = 1 if movement.beats else 2
        base = {"seed": 40 + index, "movement": movement.name, "num_reps": reps, "facing_deg": 20.0}
        correct = generate_clip(ClipRequest(errors=[], **base))
        window = 1 if movement.beats else 0
        faulty = generate_clip(
            ClipRequest(errors=[ErrorPlan(kind, 0.9, side, window, window)], **base)
        )
        written.append(contact_sheet(correct, out / f"{movement.name}-correct.png", frames))
        written.append(contact_sheet(faulty, out / f"{movement.name}-{kind}.png", frames))
    return written
