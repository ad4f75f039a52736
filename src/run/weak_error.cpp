#include "dcsde/run/weak_error.hpp"

#include <cmath>

namespace dcsde {
namespace {

std::optional<WeakErrorEntry> max_difference(const Curves& a, const Curves& b,
                                             const std::vector<double> Curves::*mean,
                                             const std::vector<double> Curves::*std) {
  std::optional<WeakErrorEntry> best;
  const std::size_t n = std::min(a.step.size(), b.step.size());
  for (std::size_t r = 0; r < n; ++r) {
    if (a.step[r] != b.step[r]) break;
    const double diff = std::abs((a.*mean)[r] - (b.*mean)[r]);
    if (best && diff <= best->value) continue;
    const double sa = (a.*std)[r] / std::sqrt(static_cast<double>(a.alive[r]));
    const double sb = (b.*std)[r] / std::sqrt(static_cast<double>(b.alive[r]));
    best = WeakErrorEntry{diff, std::sqrt(sa * sa + sb * sb), a.step[r]};
  }
  return best;
}

}  // namespace

WeakError weak_error(const ProcessSummary& optimizer, const ProcessSummary& sde) {
  return {
      max_difference(optimizer.curves, sde.curves, &Curves::loss_mean, &Curves::loss_std),
      max_difference(optimizer.curves, sde.curves, &Curves::sq_norm_mean, &Curves::sq_norm_std)};
}

}  // namespace dcsde
