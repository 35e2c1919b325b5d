#!/bin/bash
# GPU smoke check (issue #13 part 8): the tiny model through every GPU path of the pipeline in at most
# 8 minutes on one GPU, then a table of what passed. The steps are in tools/gpu_smoke.py.
#   tools/gpu_smoke.sh              run it (on a machine with a GPU; pip install -e '.[vllm]' for the vLLM rows)
#   tools/gpu_smoke.sh --dry-run    print the commands only (any machine)
#   tools/gpu_smoke.sh --help
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
PYTHON="${KARDIA_VENV:-.venv}/bin/python"
if [[ ! -x "$PYTHON" ]]; then
    echo "error: no $PYTHON in $(pwd): run 'make .venv/.installed' first, or set KARDIA_VENV" >&2
    exit 2
fi
exec "$PYTHON" -m tools.gpu_smoke "$@"
