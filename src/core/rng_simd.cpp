// The kernels of rng.hpp, compiled for AVX-512, AVX2, SSE2 and scalar code (simd.hpp), and the
// choice among them at run time.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "dcsde/core/rng.hpp"
#include "simd.hpp"

// Vector arguments of the always-inline helpers change the ABI between instruction sets; they
// never cross a call boundary.
#pragma GCC diagnostic ignored "-Wpsabi"
// GCC 12's AVX-512 intrinsics (_mm512_sqrt_pd, _mm512_mul_epu32) pass `_mm512_undefined_*()`,
// a self-initialized variable, as the ignored merge operand; inlined here it warns.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// clang-format off
DCSDE_SIMD_PUSH_AVX512
namespace dcsde::detail::avx512 {
#define DCSDE_SIMD_LEVEL 3
#define DCSDE_SIMD_NAME "avx512"
#include "simd_ops.inc"
#include "rng_kernels.inc"
#undef DCSDE_SIMD_NAME
#undef DCSDE_SIMD_LEVEL
}  // namespace dcsde::detail::avx512
DCSDE_SIMD_POP

DCSDE_SIMD_PUSH_AVX2
namespace dcsde::detail::avx2 {
#define DCSDE_SIMD_LEVEL 2
#define DCSDE_SIMD_NAME "avx2"
#include "simd_ops.inc"
#include "rng_kernels.inc"
#undef DCSDE_SIMD_NAME
#undef DCSDE_SIMD_LEVEL
}  // namespace dcsde::detail::avx2
DCSDE_SIMD_POP

DCSDE_SIMD_PUSH_BASELINE
namespace dcsde::detail::sse2 {
#define DCSDE_SIMD_LEVEL 1
#define DCSDE_SIMD_NAME "sse2"
#include "simd_ops.inc"
#include "rng_kernels.inc"
#undef DCSDE_SIMD_NAME
#undef DCSDE_SIMD_LEVEL
}  // namespace dcsde::detail::sse2

namespace dcsde::detail::scalar {
#define DCSDE_SIMD_LEVEL 0
#define DCSDE_SIMD_NAME "scalar"
#include "simd_ops.inc"
#include "rng_kernels.inc"
#undef DCSDE_SIMD_NAME
#undef DCSDE_SIMD_LEVEL
}  // namespace dcsde::detail::scalar
DCSDE_SIMD_POP
// clang-format on

namespace dcsde::detail {

SimdLevel cpu_simd_level() {
  static const SimdLevel level = [] {
    __builtin_cpu_init();
    SimdLevel best = SimdLevel::kSse2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
        __builtin_cpu_supports("popcnt")) {
      best = SimdLevel::kAvx2;
      if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        best = SimdLevel::kAvx512;
      }
    }
    // DCSDE_SIMD caps the level (benchmarks of the fallbacks; results do not change).
    if (const char* cap = std::getenv("DCSDE_SIMD")) {
      const char* names[] = {"scalar", "sse2", "avx2", "avx512"};
      for (int i = 0; i < 4; ++i) {
        if (std::strcmp(cap, names[i]) == 0 && i < static_cast<int>(best))
          best = static_cast<SimdLevel>(i);
      }
    }
    return best;
  }();
  return level;
}

namespace {

std::atomic<const RngKernels*> g_forced{nullptr};

}  // namespace

const RngKernels* const* available_rng_kernels(int* count) {
  static const RngKernels* const all[] = {&avx512::kRngKernels, &avx2::kRngKernels,
                                          &sse2::kRngKernels, &scalar::kRngKernels};
  const int level = static_cast<int>(cpu_simd_level());
  *count = level + 1;
  return all + (3 - level);
}

const RngKernels& rng_kernels() {
  static const RngKernels* const best = [] {
    int count = 0;
    return available_rng_kernels(&count)[0];
  }();
  const RngKernels* forced = g_forced.load(std::memory_order_relaxed);
  return forced ? *forced : *best;
}

const RngKernels* set_rng_kernels(const RngKernels* kernels) { return g_forced.exchange(kernels); }

}  // namespace dcsde::detail
