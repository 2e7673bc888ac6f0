#!/usr/bin/env bash
# Create .venv and install the pinned dependencies (idempotent; a no-op once installed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ -f "$stamp" ]; then exit 0; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -c "import torch, torchvision, spconv.pytorch, pycocotools, optuna, wandb" \
  || { echo "setup.sh: dependency import failed" >&2; exit 1; }
rm -f .venv/.installed-* && touch "$stamp"
