#!/bin/sh
# Old (git c70d270) against new (core/rng.hpp) random streams on every SIMD path of the new
# kernels: builds bench/rng_old_vs_new.cpp against BUILD/libdcsde.a and the old header taken
# from git, then runs it with DCSDE_SIMD = avx512, avx2, sse2, scalar (paths this CPU lacks
# fall back to the best it has). Usage: bench/rng_old_vs_new.sh [BUILD]   (default: build)
set -e
cd "$(dirname "$0")/.."
BUILD=${1:-build}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
git show c70d270:include/dcsde/core/rng.hpp |
  sed -e 's/^namespace dcsde {/namespace old_dcsde {\nusing Index = std::ptrdiff_t;/' \
      -e 's|#include "dcsde/core/types.hpp"|#include <cstddef>|' >"$TMP/old_rng.hpp"
g++ -std=gnu++20 -O3 -DNDEBUG -Iinclude -I"$TMP" -isystem /usr/include/eigen3 \
  bench/rng_old_vs_new.cpp "$BUILD/libdcsde.a" -fopenmp -o "$TMP/rng_old_vs_new"
for path in avx512 avx2 sse2 scalar; do DCSDE_SIMD=$path "$TMP/rng_old_vs_new"; done
