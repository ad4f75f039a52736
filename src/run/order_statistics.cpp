#include "dcsde/run/order_statistics.hpp"

#include <algorithm>
#include <cmath>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

// numpy's _lerp (numpy/lib/function_base.py): a + (b - a) t, computed from b when t >= 1/2
// (exact at t = 1). numpy forms h as n q + (1 - q) - 1, not (n - 1) q, so the two can differ in
// the last bit for some q (e.g. n = 5, q = 0.6); the definition is the same.
double lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

}  // namespace

double order_statistic(std::span<double> values, Index k) {
  DCSDE_ASSERT(k >= 0 && k < static_cast<Index>(values.size()), "order statistic out of range");
  const auto nth = values.begin() + k;
  std::nth_element(values.begin(), nth, values.end());
  return *nth;
}

void quantiles(std::span<double> values, std::span<const double> qs, std::span<double> out) {
  const Index n = static_cast<Index>(values.size());
  DCSDE_ASSERT(n >= 1, "quantiles of an empty sample");
  DCSDE_ASSERT(qs.size() == out.size(), "one output per quantile level");
  // After nth_element at j, values[j + 1..n) hold exactly the order statistics above x_(j): the
  // next (higher) level selects within them.
  Index from = 0, last = -1;
  for (std::size_t i = 0; i < qs.size(); ++i) {
    const double q = qs[i];
    DCSDE_ASSERT(q >= 0.0 && q <= 1.0 && (i == 0 || q >= qs[i - 1]),
                 "quantile levels in [0, 1], ascending");
    const double h = static_cast<double>(n - 1) * q;
    const Index j = std::min(static_cast<Index>(std::floor(h)), n - 1);
    const double t = h - static_cast<double>(j);
    if (j != last) {
      std::nth_element(values.begin() + from, values.begin() + j, values.end());
      from = j + 1;
      last = j;
    }
    const double below = values[static_cast<std::size_t>(j)];
    if (t == 0.0 || j + 1 >= n) {
      out[i] = below;
    } else {  // x_(j+1) is the smallest value above position j
      const double above = *std::min_element(values.begin() + j + 1, values.end());
      out[i] = lerp(below, above, t);
    }
  }
}

double quantile(std::span<double> values, double q) {
  double out = 0.0;
  quantiles(values, {&q, 1}, {&out, 1});
  return out;
}

std::optional<MedianInterval> median_interval(Index n, double level) {
  DCSDE_ASSERT(level > 0.0 && level < 1.0, "confidence level in (0, 1)");
  const double tail = (1.0 - level) / 2.0;
  // P(B <= l) for B ~ Binomial(n, 1/2), summed from l = 0 with the pmf in logs (2^-n underflows
  // for n > 1074): log p(0) = -n log 2, p(l + 1) = p(l) (n - l) / (l + 1). The sum stops at
  // the first l past the tail, below n / 2 since P(B <= n / 2) >= 1/2.
  double log_p = -static_cast<double>(n) * std::log(2.0), cdf = 0.0, cdf_lower = 0.0;
  Index lower = -1;
  for (Index l = 0; 2 * l <= n; ++l) {
    cdf += std::exp(log_p);
    if (cdf > tail) break;
    lower = l;
    cdf_lower = cdf;
    log_p += std::log(static_cast<double>(n - l)) - std::log(static_cast<double>(l + 1));
  }
  if (lower < 0) return std::nullopt;
  return MedianInterval{lower, n - 1 - lower, 1.0 - 2.0 * cdf_lower};
}

}  // namespace dcsde
