#include "dcsde/method/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "dcsde/core/error.hpp"

namespace dcsde {

Schedule::Schedule(const ScheduleOptions& options) : options_(options) {
  if (options_.kind == "constant") {
    kind_ = Kind::kConstant;
  } else if (options_.kind == "inv_sqrt") {
    kind_ = Kind::kInvSqrt;
  } else if (options_.kind == "piecewise") {
    kind_ = Kind::kPiecewise;
  } else {
    throw ConfigError("method.schedule",
                      "method.schedule = '" + options_.kind + "' is not a schedule");
  }
  DCSDE_ASSERT(kind_ != Kind::kPiecewise || !options_.points.empty(),
               "piecewise schedule needs points");
}

double Schedule::multiplier(std::int64_t k) const {
  if (kind_ == Kind::kConstant) return 1.0;
  if (kind_ == Kind::kInvSqrt) return 1.0 / std::sqrt(static_cast<double>(k) + 1.0);
  const auto& pts = options_.points;
  auto it = std::upper_bound(pts.begin(), pts.end(), k,
                             [](std::int64_t step, const auto& p) { return step < p.first; });
  return it == pts.begin() ? pts.front().second : std::prev(it)->second;
}

}  // namespace dcsde
