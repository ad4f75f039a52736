#!/usr/bin/env bash
# The exchange benchmark of docs/distributed.md: one step's messages over MPI, for sign, rand-k
# (k = d/100) and QSGD against the fp32 allreduce of DSGD, d = 1e5, 1e6, 1e7, with 2 and 4 ranks
# on this machine. Usage: bench/dist_exchange.sh [BUILD_DIR] [extra dist_exchange flags]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
bin="$build/bench/dist_exchange"
if [[ ! -x "$bin" ]]; then
  echo "bench/dist_exchange.sh: $bin not found (build with MPI: scripts/setup --with-mpi)" >&2
  exit 2
fi
# As root (containers, CI) mpirun needs the two ALLOW variables; --oversubscribe allows more
# ranks than cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
echo "machine: ${model:-$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)}, $(nproc) cores," \
  "$(mpirun --version | head -1); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ranks in 2 4; do
  echo
  echo "ranks = $ranks"
  mpirun --oversubscribe -np "$ranks" "$bin" "$@"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
