// The random streams before (git c70d270: Random123 Philox4x64-10, scalar Box-Muller and Bailey
// with the C library's log, sin, cos and pow) and after issue 8 (core/rng.hpp: Philox4x32-10 in
// SIMD blocks), side by side: normals, Student-t values (nu = 1.5) and uniforms per second, d =
// 100 per stream as in the workloads. Built and run by bench/rng_old_vs_new.sh, once per SIMD
// path of the new kernels (DCSDE_SIMD).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "dcsde/core/rng.hpp"
#include "old_rng.hpp"  // extracted from git by the script, in namespace old_dcsde

namespace {

template <class F>
double best_of(F f, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main() {
  const int d = 100, streams = 20000;
  std::vector<double> z(d);
  double sink = 0;
  using OldPhilox = old_dcsde::Philox;
  using NewPhilox = dcsde::Philox;
  auto old_normals = [&] {
    for (int s = 0; s < streams; ++s) {
      OldPhilox r(1, s, 0, old_dcsde::Purpose::kNoise, 7);
      r.normals(z.data(), d);
      sink += z[3];
    }
  };
  auto new_normals = [&] {
    for (int s = 0; s < streams; ++s) {
      NewPhilox r(1, s, 0, dcsde::Purpose::kNoise, 7);
      r.normals(z.data(), d);
      sink += z[3];
    }
  };
  auto old_t = [&] {
    for (int s = 0; s < streams; ++s) {
      OldPhilox r(1, s, 0, old_dcsde::Purpose::kNoise, 7);
      for (int j = 0; j < d; ++j) z[j] = r.student_t(1.5);
      sink += z[3];
    }
  };
  auto new_t = [&] {
    for (int s = 0; s < streams; ++s) {
      NewPhilox r(1, s, 0, dcsde::Purpose::kNoise, 7);
      r.student_ts(z.data(), d, 1.5);
      sink += z[3];
    }
  };
  auto old_u = [&] {
    for (int s = 0; s < streams; ++s) {
      OldPhilox r(1, s, 0, old_dcsde::Purpose::kNoise, 7);
      for (int j = 0; j < d; ++j) z[j] = r.uniform();
      sink += z[3];
    }
  };
  auto new_u = [&] {
    for (int s = 0; s < streams; ++s) {
      NewPhilox r(1, s, 0, dcsde::Purpose::kNoise, 7);
      r.uniforms(z.data(), d);
      sink += z[3];
    }
  };
  const double n = 1e-6 * d * streams;
  std::printf(
      "%-7s normals %5.0f -> %5.0f M/s | student_t %5.0f -> %5.0f M/s | uniforms %5.0f -> %5.0f "
      "M/s\n",
      dcsde::detail::rng_kernels().name, n / best_of(old_normals, 5), n / best_of(new_normals, 5),
      n / best_of(old_t, 5), n / best_of(new_t, 5), n / best_of(old_u, 5), n / best_of(new_u, 5));
  return sink == 12345.0;
}
