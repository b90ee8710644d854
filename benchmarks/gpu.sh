#!/usr/bin/env bash
# The GPU check (benchmarks/gpu.py) under a hard time limit, from the repository root.
#
#   bash benchmarks/gpu.sh                        # every step, about 8 minutes on one H200
#   bash benchmarks/gpu.sh --only lm_speed,awd    # only the steps named (merged into gpu.json)
#
# PYTHON: the interpreter (default .venv/bin/python when there, else python3); it needs a CUDA
#         build of torch and the project's dependencies: nothing is installed here.
# GPU_SH_TIMEOUT: the hard limit in seconds (default 570, under a 10-minute command limit);
#         gpu.py cuts the AWD budget to end by its own --deadline-s (480) well before it.
# GPU_RESULTS_TO: a folder to copy benchmarks/results/gpu.{json,md} into afterwards.
# RNN_NLP_CACHE: the corpus cache (PTB, CoNLL-2003, Rotten Tomatoes; see `gpu.py --fetch-only`).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONUNBUFFERED=1 RNN_NLP_GPU_SH=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
timeout --signal=INT --kill-after=20 "${GPU_SH_TIMEOUT:-570}" "$PYTHON" benchmarks/gpu.py "$@"
status=$?
if [ -n "${GPU_RESULTS_TO:-}" ]; then
  cp -f benchmarks/results/gpu.json benchmarks/results/gpu.md "$GPU_RESULTS_TO"/ 2>/dev/null || true
fi
exit $status
