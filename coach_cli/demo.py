"""``coach demo``: the end-to-end path that exists so far."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console


def run_demo(out: Path) -> None:
    """Lift with the bundled model when there is one; say what is missing otherwise."""
    from pose3d import Lifter, ModelNotBundledError

    console = Console()
    out.mkdir(parents=True, exist_ok=True)
    try:
        lifter = Lifter.from_checkpoint()
    except ModelNotBundledError as exc:
        console.print(f"[yellow]{exc}[/yellow]")
        return
    console.print(f"loaded lifter {lifter.metadata.version}")
