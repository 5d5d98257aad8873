import pytest
import typer.main
from typer.testing import CliRunner

from coach_cli.main import app

runner = CliRunner()


def _command_paths(group, prefix=()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path
        if hasattr(command, "commands"):
            yield from _command_paths(command, path)


@pytest.mark.slow  # imports every command's package
def test_every_sub_command_has_help():
    root = typer.main.get_command(app)
    paths = list(_command_paths(root))
    assert ("demo",) in paths and ("bench", "lifter") in paths
    assert ("dataflow", "build-shards") in paths and ("synth", "preview") in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "usage" in result.output.lower()


def test_unknown_command_fails():
    assert runner.invoke(app, ["no-such-command"]).exit_code != 0


@pytest.mark.slow  # over 3 s: the fast tier stays under 2 min
def test_training_the_detector_needs_validation_clips(tmp_path):
    result = runner.invoke(app, ["fit-scoring", "--training", str(tmp_path), "--sessions", "6"])
    assert result.exit_code != 0
    assert "validation" in result.output


def test_real_motion_joins_only_a_detector_training(tmp_path):
    result = runner.invoke(app, ["fit-scoring", "--real-mocap", str(tmp_path), "--no-track"])
    assert result.exit_code != 0
    assert "--training" in result.output
