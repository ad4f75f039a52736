#include "dcsde/method/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "dcsde/core/error.hpp"

namespace dcsde {

namespace {

const ScheduleSpec kSpecs[] = {
    {ScheduleKind::kConstant, "constant", "eta_k = 1", false},
    {ScheduleKind::kInvSqrt, "inv_sqrt", "eta_k = 1 / sqrt(k + 1) (paper 2's Robbins-Monro)",
     false},
    {ScheduleKind::kPiecewise, "piecewise",
     "eta_k = the multiplier of the last [step, multiplier] of method.schedule_points with step <= "
     "k",
     true},
};

}  // namespace

std::span<const ScheduleSpec> kind_specs(ScheduleKind) { return kSpecs; }

Schedule::Schedule(const ScheduleOptions& options) : options_(options) {
  DCSDE_ASSERT(options_.kind != ScheduleKind::kPiecewise || !options_.points.empty(),
               "piecewise schedule needs points");
}

double Schedule::multiplier(std::int64_t k) const {
  if (options_.kind == ScheduleKind::kConstant) return 1.0;
  if (options_.kind == ScheduleKind::kInvSqrt) return 1.0 / std::sqrt(static_cast<double>(k) + 1.0);
  const auto& pts = options_.points;
  auto it = std::upper_bound(pts.begin(), pts.end(), k,
                             [](std::int64_t step, const auto& p) { return step < p.first; });
  return it == pts.begin() ? pts.front().second : std::prev(it)->second;
}

}  // namespace dcsde
