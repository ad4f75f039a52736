// Order statistics of a sample: quantiles and a distribution-free confidence interval for the
// median. The runner (run/runner.hpp) reports them for every record, over the live replicas,
// beside the mean: under heavy-tailed noise (Student-t with nu <= 2) the loss has no finite
// mean, and the sample mean is driven by a few outliers while the quantiles stay informative.
//
// Quantile definition (one for the whole library, docs/experiment-format.md): linear
// interpolation between order statistics, numpy's default method "linear" (Hyndman and Fan's
// type 7). With the n values sorted, x_(0) <= x_(1) <= ... <= x_(n-1) (0-based),
//
//   h = (n - 1) q,   j = floor(h),   Q(q) = x_(j) + (h - j) (x_(j+1) - x_(j))   (x_(n) := x_(n-1))
//
// so Q(0) is the minimum, Q(1) the maximum, and Q(1/2) the usual median (the middle value for an
// odd n, the mean of the two middle values for an even n); np.quantile(values, q) up to the last
// bit (numpy rounds h = n q + (1 - q) - 1 differently for some q).
//
// Cost: std::nth_element, O(n) expected per quantile; nothing is sorted. The result depends on
// the multiset of values only (an order statistic is a value), never on their order, so the
// numbers do not depend on how replicas were split over threads or blocks.
#pragma once

#include <optional>
#include <span>

#include "dcsde/core/types.hpp"

namespace dcsde {

// Q(q) of `values` (n >= 1, 0 <= q <= 1, no NaN) as in the header comment. Permutes `values`.
double quantile(std::span<double> values, double q);

// Q(qs[i]) into out[i] for quantile levels in ascending order; each nth_element works on the
// part of `values` above the previous one. Permutes `values`. qs and out have the same size.
void quantiles(std::span<double> values, std::span<const double> qs, std::span<double> out);

// The distribution-free confidence interval of the median from order statistics:
//
//   [x_(lower), x_(upper)]  (0-based),   upper = n - 1 - lower,
//
// where, with B ~ Binomial(n, 1/2) the number of values below the true median m of a continuous
// law, P(x_(l) <= m <= x_(u)) = P(l + 1 <= B <= u) = 1 - 2 P(B <= l). `lower` is the largest l
// with P(B <= l) <= (1 - level) / 2, so the coverage 1 - 2 P(B <= lower) is at least `level` and
// as close to it as whole order statistics allow (e.g. n = 10: x_(1), x_(8), coverage 0.9785;
// n = 20: x_(5), x_(14), coverage 0.9586). No assumption on the law beyond continuity.
// nullopt when no interval reaches `level`: for level 0.95, n < 6 (even [min, max] covers the
// median with probability 1 - 2^(1-n) only).
struct MedianInterval {
  Index lower = 0, upper = 0;  // 0-based order statistics
  double coverage = 0.0;       // 1 - 2 P(B <= lower)
};
std::optional<MedianInterval> median_interval(Index n, double level = 0.95);

// The order statistic x_(k) (0-based) of `values`; permutes them.
double order_statistic(std::span<double> values, Index k);

}  // namespace dcsde
