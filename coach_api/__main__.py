"""``python -m coach_api``: the service's operator commands (``coach-api``)."""

from coach_api.cli import app

app(prog_name="coach-api")
