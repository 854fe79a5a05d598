#!/usr/bin/env bash
# GPU check of the on-device scoring path (issue 11, point 4), in under 4 minutes:
# the CUDA tests of the torch sampler, scorers and MLP-ensemble learner, then
# benchmarks/bench_scoring.py on CUDA (float32 and bf16; a larger chunk; torch.compile).
# Everything it prints also goes to $OUT/gpu_scoring.txt.
#
#   bash benchmarks/gpu_check.sh        # from the repository root (carry .whl on a device run)
#
# Python: the repository's .venv when its torch sees CUDA, else the machine's python3 (its
# own CUDA torch) with the repository on PYTHONPATH and the pure-Python wheels of .whl/
# (optuna, gymnasium, ...) unpacked to /tmp/site when metarl does not import without them.
# Without any CUDA torch it says so and benchmarks the CPU instead.
set -u
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
started=$(date +%s)
elapsed() { echo "[$(($(date +%s) - started)) s]"; }

main() {

echo "== machine $(date -u +%FT%TZ)"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | head -3
nproc

cuda_ok() { timeout 120 "$1" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; }
PY=""
for cand in .venv/bin/python python3 /opt/torch/.venv/bin/python3; do
    if command -v "$cand" >/dev/null 2>&1 && cuda_ok "$cand"; then PY=$(command -v "$cand"); break; fi
done
if [ -z "$PY" ] && [ -x .venv/bin/python ] && nvidia-smi -L >/dev/null 2>&1; then
    echo "== a GPU but no CUDA torch: trying pip install --no-deps torch==2.13.0 (any index)"
    timeout 90 .venv/bin/python -m pip install -q --no-deps --retries 0 --timeout 10 torch==2.13.0 \
        && cuda_ok .venv/bin/python && PY=.venv/bin/python
fi
DEVICES=cuda
if [ -z "$PY" ]; then
    echo "== NO CUDA TORCH: what is installed"
    nvidia-smi 2>&1 | head -15
    for cand in .venv/bin/python python3; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c "import torch" 2>/dev/null; then
            "$cand" -m pip list 2>/dev/null | grep -i torch
            [ -z "$PY" ] && PY=$(command -v "$cand")
        fi
    done
    [ -n "$PY" ] || { echo "no python with torch at all"; return 1; }
    DEVICES=cpu
fi
echo "== python: $PY"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import metarl.trainers, metarl.agents" 2>/dev/null; then
    if ls .whl/*.whl >/dev/null 2>&1; then
        echo "== metarl needs packages this python lacks: unpacking .whl/ to /tmp/site"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl
        export PYTHONPATH="$PYTHONPATH:/tmp/site"
    fi
    "$PY" -c "import metarl.trainers, metarl.agents" || {
        echo "metarl does not import (carry .whl with the run: optuna, gymnasium, colorlog)"
        return 1
    }
fi
elapsed

echo "== CUDA tests (torch sampler, scorers, device top-k, MLP ensemble on a device)"
timeout 70 "$PY" -m pytest -q -p no:cacheprovider -x \
    tests/space/test_torch_sampling.py tests/learners/test_torch_scoring.py \
    tests/learners/test_persist_devices.py -k "cuda or device"
elapsed

echo "== bench_scoring: $DEVICES, default chunk"
timeout 75 "$PY" benchmarks/bench_scoring.py --devices "$DEVICES" --threads "$(nproc)" \
    --seconds 0.5
elapsed

if [ "$DEVICES" = cuda ]; then
    echo "== bench_scoring: cuda, chunk 2**24 (fewer launches per config), UCB"
    timeout 35 "$PY" benchmarks/bench_scoring.py --devices cuda --chunk 16777216 \
        --learners linear,small_mlp --kinds ucb --seconds 0.5
    elapsed
    echo "== bench_scoring: cuda, torch.compile"
    timeout 60 "$PY" benchmarks/bench_scoring.py --devices cuda --compile \
        --learners small_mlp --seconds 0.5
    elapsed
fi
echo "== done"
}

main 2>&1 | tee "$OUT/gpu_scoring.txt"
