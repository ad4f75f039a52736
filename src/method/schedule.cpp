#include "dcsde/method/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "dcsde/core/error.hpp"

namespace dcsde {

Schedule::Schedule(const ScheduleOptions& options) : options_(options) {
  if (options_.kind != "constant" && options_.kind != "inv_sqrt" && options_.kind != "piecewise") {
    throw ConfigError("method.schedule",
                      "method.schedule = '" + options_.kind + "' is not a schedule");
  }
  DCSDE_ASSERT(options_.kind != "piecewise" || !options_.points.empty(),
               "piecewise schedule needs points");
}

double Schedule::multiplier(std::int64_t k) const {
  if (options_.kind == "constant") return 1.0;
  if (options_.kind == "inv_sqrt") return 1.0 / std::sqrt(static_cast<double>(k) + 1.0);
  const auto& pts = options_.points;
  auto it = std::upper_bound(pts.begin(), pts.end(), k,
                             [](std::int64_t step, const auto& p) { return step < p.first; });
  return it == pts.begin() ? pts.front().second : std::prev(it)->second;
}

}  // namespace dcsde
