"""``coach``: the single command-line entry point (see ``coach --help``).

Sub-commands import their packages inside the command function so that ``coach --help``
and light commands start fast (torch, Beam and coremltools are slow to import).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="AI fitness and dance coach: lifting, scoring, data pipelines, API and export.",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Speed and memory benchmarks (print a table, write JSON).")
app.add_typer(bench_app, name="bench")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's outputs.")] = Path("out/demo"),
) -> None:
    """Run the end-to-end path that exists so far and print what it found."""
    from coach_cli.demo import run_demo

    run_demo(out)


@bench_app.command("lifter")
def bench_lifter(
    quick: Annotated[bool, typer.Option(help="Shorter sequences, fewer pushes.")] = False,
) -> None:
    """Frames/s of whole-sequence lifting and LiftStream latency per configuration."""
    from bench.lifter import main

    main(["--quick"] if quick else [])


if __name__ == "__main__":
    app()
