// Private SIMD support of the kernels (not installed): the instruction sets and the regions that
// compile a kernel for each.
//
// A kernel is written once, with GCC vector extensions of the level's native width (simd_ops.inc:
// 8 lanes of 64 bits for AVX-512, 4 for AVX2, 2 for SSE2, 1 for plain scalar code), in an `.inc`
// file that a `.cpp` includes once per level, each time inside a `#pragma GCC target` region and
// its own namespace. Lanes are independent, so every level computes the same bits as long as each
// lane performs the same IEEE operations: the regions set fp-contract=off, since otherwise GCC
// fuses a * b + c into an FMA where the target has one and the bits would depend on the level.
// (A width wider than the hardware, e.g. 8 lanes under AVX2, is legal but GCC lowers it through
// the stack: ten times slower. Hence one native width per level.)
#pragma once

namespace dcsde::detail {

// Instruction sets, best last.
enum class SimdLevel : int { kScalar = 0, kSse2 = 1, kAvx2 = 2, kAvx512 = 3 };

// The best level this CPU (and OS) supports: AVX-512 F/DQ/BW/VL, else AVX2, else SSE2 (x86-64's
// baseline), capped by the environment variable DCSDE_SIMD=scalar|sse2|avx2|avx512 if set.
SimdLevel cpu_simd_level();

}  // namespace dcsde::detail

// Pragmas that open and close the region of one level (see above).
#define DCSDE_SIMD_PUSH_AVX512                                                  \
  _Pragma("GCC push_options")                                                   \
      _Pragma("GCC target(\"avx512f,avx512dq,avx512bw,avx512vl,bmi2,popcnt\")") \
          _Pragma("GCC optimize(\"fp-contract=off\")")
#define DCSDE_SIMD_PUSH_AVX2                                              \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,bmi2,popcnt\")") \
      _Pragma("GCC optimize(\"fp-contract=off\")")
#define DCSDE_SIMD_PUSH_BASELINE \
  _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#define DCSDE_SIMD_POP _Pragma("GCC pop_options")
