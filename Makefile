# Two commands on a fresh machine: `make run` (the main job) and `make test` (the suite).
# Both create .venv and install the pinned set when it is missing or out of date.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist workers: one per core ("auto"); TEST_WORKERS=0 runs the suite in one process.
# A file's tests stay together on one worker, in order (module fixtures such as the
# browser's are made once, and a file's tests may build on the ones before).
TEST_WORKERS ?= auto
PARALLEL := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: run test test-fast test-postgres lint format bench

# Where the environment forbids .pyc files (PYTHONDONTWRITEBYTECODE=1), every test process
# compiles the project and pytest rewrites every test module's asserts again: ~8 s of
# each worker's start. The caches go to the ignored __pycache__ folders.
test test-fast test-postgres: export PYTHONDONTWRITEBYTECODE :=

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# The MediaPipe pose model for server-side video, assembled offline from the mediapipe
# 0.10.21 wheel (pip-downloaded like any package). Without it the API still serves;
# video jobs then fail with instructions.
POSE_TASK := coach-data/models/pose_landmarker.task
$(POSE_TASK): $(STAMP)
	$(BIN)/coach-api pose-task || echo "warning: no pose model, video uploads disabled"

run: $(STAMP) $(POSE_TASK)
	$(BIN)/coach-api serve

# The suite on SQLite, then the API's tests again on a throwaway PostgreSQL server
# (tests/postgres_server.py) where the PostgreSQL packages are installed (.ci/run installs
# them); without them that pass is skipped, saying so.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PARALLEL)
	$(MAKE) --no-print-directory test-postgres

test-postgres: $(STAMP)
	@if $(BIN)/python -c "import sys; from tests.postgres_server import available; sys.exit(not available())"; then \
		COACH_TEST_POSTGRES=1 $(BIN)/python -m pytest $(PARALLEL) tests/coach_api -m "not slow" -q; \
	else echo "PostgreSQL not installed: the PostgreSQL pass is skipped (apt-get install postgresql)"; fi

# The quick tier: every package, without the tests marked slow (see pyproject's markers).
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PARALLEL) -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	for b in lifter synth dataflow scoring export api startup hostile install_size; do $(BIN)/python -m bench.$$b || exit 1; done
