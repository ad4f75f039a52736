// Weak error between two processes recorded at the same steps (papers.md 5.1):
//   max_k | E g(x_k) - E g(X_{k eta}) |   for g = f and g = ||x||^2,
// with the Monte Carlo standard error of the difference at the maximizing step,
// sqrt(sem_x^2 + sem_X^2) (the two processes use independent streams). Records where either
// process has no live replica are skipped.
#pragma once

#include <cstdint>
#include <optional>

#include "dcsde/run/runner.hpp"

namespace dcsde {

struct WeakErrorEntry {
  double value = 0.0;  // max over records of |mean difference|
  double sem = 0.0;    // its standard error at that record
  std::int64_t step = 0;
};

struct WeakError {
  std::optional<WeakErrorEntry> loss;     // g = f
  std::optional<WeakErrorEntry> sq_norm;  // g = ||x||^2
};

WeakError weak_error(const ProcessSummary& optimizer, const ProcessSummary& sde);

}  // namespace dcsde
