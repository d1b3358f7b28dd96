#!/usr/bin/env bash
# The README's test command: a fresh virtual environment, everything from pyproject.toml, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"
exec python -m pytest "$@"
