#!/usr/bin/env bash
# The whole GPU check in one go, within 8 minutes, on a machine with one NVIDIA GPU:
#
#   bash benchmarks/gpu_check.sh            (from anywhere; logs and JSON go to $OUT or benchmarks/results/gpu)
#
#   (a) pytest tests/gpu                     the fake-device suite, every op spec on CuPy vs the CPU, every
#                                            CuPy kernel tier vs its reference, train steps and checkpoints
#   (b) bench_gpu --parts parity             max |GPU - CPU| per op, printed as a table
#   (c) bench_gpu --parts train              mini-VGG, airbench48, GPT, BERT steps: CuPy vs torch CUDA eager
#   (d) bench_gpu --parts nanogpt            nanoGPT's Shakespeare-char GPU recipe, stopped by a time limit
#
# Each part runs under `timeout` (seconds below: 150 + 45 + 70 + 205 = 470 at most); a part that fails or
# times out is reported and the next one still runs.  The exit status is 0 only when every part passed.
# GPU_CHECK_NANOGPT_SECONDS=N gives the nanoGPT training N seconds instead of 150 (the part then N + 55).
set -u
NANOGPT_S="${GPU_CHECK_NANOGPT_SECONDS:-150}"   # the training's wall-clock cap; evaluation and start-up fit in 55 s more
if ! [[ "$NANOGPT_S" =~ ^[0-9]+$ ]] || [ "$NANOGPT_S" -lt 1 ]; then
    echo "gpu_check.sh: GPU_CHECK_NANOGPT_SECONDS must be a whole number of seconds >= 1, got '$NANOGPT_S'" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-benchmarks/results/gpu}"
mkdir -p "$OUT_DIR"
PY="${PYTHON:-python3}"
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.numba_cache}"
export MPLBACKEND=Agg PYTHONUNBUFFERED=1
if [ -z "${TINYGRAD_EDU_DATA:-}" ]; then
    for d in "$PWD/../shared/data" "$PWD/shared/data"; do [ -d "$d" ] && export TINYGRAD_EDU_DATA="$d" && break; done
fi
# pytest and hypothesis are pure Python: if the machine lacks them, use a folder made with
#   pip install --target .cache/gpu_vendor pytest hypothesis      (and carried to the machine)
if ! "$PY" -c "import pytest, hypothesis" 2>/dev/null && [ -d .cache/gpu_vendor ]; then
    export PYTHONPATH="$PWD/.cache/gpu_vendor${PYTHONPATH:+:$PYTHONPATH}"
fi

status=0
summary=()
part() {   # part NAME SECONDS COMMAND...
    local name=$1 limit=$2 start rc
    shift 2
    echo "=== $name (at most ${limit} s): $*"
    start=$(date +%s)
    timeout -k 10 "$limit" "$@" 2>&1 | tee "$OUT_DIR/$name.log"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && echo "=== $name: TIMED OUT after ${limit} s"
    summary+=("$name: rc $rc in $(( $(date +%s) - start )) s")
    [ "$rc" -eq 0 ] || status=1
}

"$PY" - <<'EOF' 2>&1 | tee "$OUT_DIR/environment.log"
import platform, sys
print("python", sys.version.split()[0], platform.machine())
for name in ("numpy", "cupy", "torch", "numba", "pytest", "hypothesis", "transformers"):
    try:
        module = __import__(name)
        print(name, getattr(module, "__version__", "?"))
    except Exception as exc:  # noqa: BLE001
        print(name, "MISSING", exc.__class__.__name__)
from tinygrad_edu import backend
print("cuda available:", backend.cuda_is_available(), backend._cuda_error or "")
EOF

part pytest 150 "$PY" -m pytest tests/gpu -q -p no:cacheprovider -rfEsxX
part parity 45 "$PY" -m benchmarks.bench_gpu --parts parity --out "$OUT_DIR"
part train 70 "$PY" -m benchmarks.bench_gpu --parts train --repeats 5 --rounds 3 --out "$OUT_DIR"
part nanogpt $(( NANOGPT_S + 55 )) "$PY" -m benchmarks.bench_gpu --parts nanogpt --time-limit "$NANOGPT_S" --out "$OUT_DIR"

echo "=== summary"
printf '%s\n' "${summary[@]}" | tee "$OUT_DIR/summary.log"
grep -h "^parity:\|parity ok\|parity BAD\|^nanogpt:" "$OUT_DIR"/parity.log "$OUT_DIR"/train.log \
    "$OUT_DIR"/nanogpt.log 2>/dev/null | tee -a "$OUT_DIR/summary.log"
exit $status
