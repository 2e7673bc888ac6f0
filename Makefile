# The two commands of the README. Both create .venv and install everything on a fresh machine.
ARGS ?=
# Active OpenMP waiting makes 2-thread torch runs several times slower under any other load.
export OMP_WAIT_POLICY ?= PASSIVE
.PHONY: setup run test lint
setup:
	bash scripts/setup.sh
run: setup
	.venv/bin/python run_all.py $(ARGS)
test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q -p no:cacheprovider tests
lint: setup
	.venv/bin/ruff check .
