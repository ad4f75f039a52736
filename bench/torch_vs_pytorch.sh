#!/usr/bin/env bash
# dcsde against plain PyTorch on the same distributed training step (docs/performance-networks.md):
# N = 8 agents, each its own minibatch of B = 32 Fashion-MNIST images, MLP 784-128-128-10,
# rand-k (k = d/100 and d/10, method dcsgd) and sign (method dsignsgd) compression, server
# average, one thread on both sides. For each workload it runs
#   bench/torch_step                           dcsde's Method::step, and its phases one by one;
#   bench/reference/torch_distributed_step.py  the same step in PyTorch (Debian's python3-torch);
#   dcsde run                                  the same experiment end to end (runner included);
# and prints the per-step medians, the ratio dcsde / PyTorch and dcsde's overhead
# (compression + aggregation) / forward-backward. The targets: ratio <= 1, overhead < 10 %.
# Each side runs REPS times, alternating, and keeps its fastest run (the median step of a run);
# times are process CPU time (CLOCK=cpu, the default: robust to other programs on a shared
# machine) or wall time (CLOCK=wall). `dcsde run` is timed by its own wall clock. BATCH (32)
# changes the minibatch of every agent on all sides.
#
# Usage: bench/torch_vs_pytorch.sh [BUILD_DIR] [STEPS] [REPS]   (defaults: build, 100, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
steps=${2:-100}
reps=${3:-3}
clock=${CLOCK:-cpu}
batch=${BATCH:-32}
warmup=10
py=/usr/bin/python3
bench="$build/bench/torch_step"
cli="$build/dcsde"
reference=bench/reference/torch_distributed_step.py
if [[ ! -x "$bench" || ! -x "$cli" ]]; then
  echo "bench/torch_vs_pytorch.sh: $bench or $cli not found (build with LibTorch:" \
    "scripts/setup --with-torch, then cmake --build $build)" >&2
  exit 2
fi
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench/torch_vs_pytorch.sh: $py cannot import torch (apt-get install python3-torch)" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
echo "machine: ${model:-unknown CPU}, $(nproc) cores; $("$cli" --version | head -1)," \
  "PyTorch $("$py" -c 'import torch; print(torch.__version__)'); $clock time, best of $reps" \
  "runs of $steps steps after $warmup; B = $batch; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# One `dcsde run` of the workload: milliseconds per step, end to end.
dcsde_run_ms() {
  local compressor=$1 k=$2 method=dcsgd
  [[ $compressor == sign ]] && method=dsignsgd
  local n=$((steps + warmup))
  cat >"$work/exp.toml" <<EOF
[experiment]
name = "torch_vs_pytorch"
[problem]
objective = "torch"
model = "mlp"
dataset = "fashion_mnist"
full_batch = 256
test_examples = 0
[noise]
kind = "minibatch"
batch = $batch
[agents]
count = 8
[compressor]
kind = "$compressor"
$([[ $compressor == rand_k ]] && echo "k = $k")
[method]
kind = "$method"
lr = 0.05
steps = $n
[run]
replicas = 1
seed = 1
record_every = $n
threads = 1
EOF
  rm -rf "$work/out"
  "$cli" run "$work/exp.toml" --out "$work/out" --quiet --no-plot >/dev/null
  "$py" -c 'import json, sys
s = json.load(open(sys.argv[1]))["processes"]["optimizer"]
print(1e3 * s["wall_seconds"] / int(sys.argv[2]))' "$work/out/summary.json" "$n"
}

: >"$work/rows.jsonl"
# The run with the smallest step_ms among JSON lines (one per repetition).
fastest() { "$py" -c 'import json, sys
runs = [json.loads(line) for line in sys.stdin if line.strip()]
print(json.dumps(min(runs, key=lambda r: r["step_ms"])))'; }
for workload in "rand_k 100" "rand_k 10" "sign 1"; do
  read -r compressor divisor <<<"$workload"
  echo
  : >"$work/dcsde.jsonl"
  : >"$work/pytorch.jsonl"
  : >"$work/run.txt"
  for ((r = 0; r < reps; r++)); do
    out=$("$bench" --compressor "$compressor" --k-divisor "$divisor" --steps "$steps" \
      --warmup "$warmup" --clock "$clock" --set "noise.batch=$batch")
    [[ $r == 0 ]] && echo "$out" | tail -3 | head -1
    echo "$out" | tail -2 | head -1 | sed 's/^ */  dcsde:   /'
    echo "$out" | tail -1 >>"$work/dcsde.jsonl"
    k=$("$py" -c 'import json, sys; print(json.loads(sys.argv[1])["k"])' "$(echo "$out" | tail -1)")
    "$py" "$reference" --compressor "$compressor" --k "$k" --steps "$steps" --warmup "$warmup" \
      --batch "$batch" --clock "$clock" | tail -1 | tee -a "$work/pytorch.jsonl" | "$py" -c 'import json, sys
p = json.load(sys.stdin)
t = [p[key] for key in ("step_ms", "forward_backward_ms", "compress_aggregate_ms")]
print("  PyTorch: step %.3f ms: forward-backward %.3f, compress + aggregate %.3f ms" % tuple(t))'
    run_ms=$(dcsde_run_ms "$compressor" "$k")
    echo "$run_ms" >>"$work/run.txt"
    echo "  dcsde run: $run_ms ms per step (wall, runner included)"
  done
  d_json=$(fastest <"$work/dcsde.jsonl")
  p_json=$(fastest <"$work/pytorch.jsonl")
  run_ms=$(sort -g "$work/run.txt" | head -1)
  echo "{\"dcsde\": $d_json, \"pytorch\": $p_json, \"run_ms\": $run_ms}" >>"$work/rows.jsonl"
done

echo
"$py" - "$work/rows.jsonl" <<'EOF'
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1])]
print("| workload | k | dcsde step (ms) | PyTorch step (ms) | dcsde / PyTorch | dcsde fwd-bwd (ms) "
      "| dcsde compress + aggregate (ms) | dcsde overhead | PyTorch fwd-bwd (ms) "
      "| PyTorch compress + aggregate (ms) | `dcsde run` (ms/step) |")
print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
ok = True
for r in rows:
    d, p = r["dcsde"], r["pytorch"]
    ratio = d["step_ms"] / p["step_ms"]
    overhead = d["compress_aggregate_ms"] / d["forward_backward_ms"]
    ok = ok and ratio <= 1.0 and overhead < 0.10
    name = "sign (dsignsgd)" if d["compressor"] == "sign" else f"rand_k d/{round(d['d'] / d['k'])} (dcsgd)"
    print(f"| {name} | {d['k']} | {d['step_ms']:.2f} | {p['step_ms']:.2f} | {ratio:.2f} "
          f"| {d['forward_backward_ms']:.2f} | {d['compress_aggregate_ms']:.3f} | {100 * overhead:.1f} % "
          f"| {p['forward_backward_ms']:.2f} | {p['compress_aggregate_ms']:.3f} | {r['run_ms']:.2f} |")
print()
print("targets (dcsde / PyTorch <= 1, overhead < 10 %):", "met" if ok else "NOT met")
EOF
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
