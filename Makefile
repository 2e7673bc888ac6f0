# The two commands of the README. Both create .venv and install everything on a fresh machine.
ARGS ?=
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
