// Schedule: the multiplier eta_k of the base learning rate, so the step is eta * eta_k
// (papers.md 2.4). Kept apart from the update rule [ensmallen: decay policy != update policy].
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "dcsde/core/kind.hpp"

namespace dcsde {

enum class ScheduleKind { kConstant, kInvSqrt, kPiecewise };

// One schedule kind, declared once (core/kind.hpp).
struct ScheduleSpec {
  ScheduleKind kind;
  std::string_view name, meaning;
  bool reads_points;  // method.schedule_points
};
std::span<const ScheduleSpec> kind_specs(ScheduleKind);

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::kConstant;
  // piecewise: (first step, multiplier) pairs with strictly increasing steps, the first at 0:
  // eta_k = multiplier of the last pair whose step <= k.
  std::vector<std::pair<std::int64_t, double>> points;
};

class Schedule final {
 public:
  explicit Schedule(const ScheduleOptions& options);

  // eta_k for step k = 0, 1, ...:
  //   constant:  1
  //   inv_sqrt:  1 / sqrt(k + 1)                     (paper 2's Robbins-Monro schedule)
  //   piecewise: the multiplier in force at step k
  double multiplier(std::int64_t k) const;
  ScheduleKind kind() const { return options_.kind; }

 private:
  ScheduleOptions options_;
};

}  // namespace dcsde
