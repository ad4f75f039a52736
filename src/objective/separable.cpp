// The separable kinds f = sum_j phi(x_j): quartic, cosh, log_cosh.
//
// Transcendental functions go through unaryExpr with the <cmath> scalar function: Eigen's
// vectorised exp/tanh would apply a different approximation to the packet body than to the
// scalar tail of a column, so a coordinate's bits would depend on its position in the block.
#include <cmath>

#include "dcsde/objective/objectives.hpp"

namespace dcsde {
namespace {

constexpr double kLog2 = 0.69314718055994530942;

// cosh t - 1 = 2 sinh^2(t/2): no cancellation near t = 0.
double cosh_minus_one(double t) {
  const double s = std::sinh(0.5 * t);
  return 2.0 * s * s;
}

// log cosh t, accurate to a few ulps for every finite t:
//   |t| <= 1: log1p(cosh t - 1) = log1p(2 sinh^2(t/2)), no cancellation near the minimum;
//   |t| >  1: |t| + log1p(exp(-2|t|)) - log 2, where cosh would overflow (|t| > ~710) and the
//             result (>= 0.43) is large enough that subtracting log 2 loses nothing.
double log_cosh(double t) {
  const double a = std::abs(t);
  if (a <= 1.0) return std::log1p(cosh_minus_one(a));
  return a + std::log1p(std::exp(-2.0 * a)) - kLog2;
}

// sech^2 t = 4 e / (1 + e)^2 with e = exp(-2|t|) <= 1: no overflow, no 1 - tanh^2 cancellation.
double sech_squared(double t) {
  const double e = std::exp(-2.0 * std::abs(t));
  const double q = 1.0 + e;
  return 4.0 * e / (q * q);
}

}  // namespace

// --- quartic ---

void Quartic::value(const ConstBatchRef& X, RowVectorRef values) const {
  values = 0.25 * X.array().square().square().colwise().sum();
}

void Quartic::gradient(const ConstBatchRef& X, BatchRef G) const { G = X.array().cube(); }

void Quartic::hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const {
  HV = 3.0 * X.array().square() * V.array();
}

ObjectiveConstants Quartic::constants() const { return {.L0 = 3.0, .L1 = 3.0, .f_star = 0.0}; }

// --- cosh ---

void Cosh::value(const ConstBatchRef& X, RowVectorRef values) const {
  values = X.unaryExpr(&cosh_minus_one).colwise().sum();
}

void Cosh::gradient(const ConstBatchRef& X, BatchRef G) const {
  G = X.unaryExpr([](double t) { return std::sinh(t); });
}

void Cosh::hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const {
  HV = X.unaryExpr([](double t) { return std::cosh(t); }).array() * V.array();
}

ObjectiveConstants Cosh::constants() const {
  return {.mu = 1.0, .L0 = 1.0, .L1 = 1.0, .f_star = 0.0};
}

// --- log_cosh ---

void LogCosh::value(const ConstBatchRef& X, RowVectorRef values) const {
  values = X.unaryExpr(&log_cosh).colwise().sum();
}

void LogCosh::gradient(const ConstBatchRef& X, BatchRef G) const {
  G = X.unaryExpr([](double t) { return std::tanh(t); });
}

void LogCosh::hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const {
  HV = X.unaryExpr(&sech_squared).array() * V.array();
}

ObjectiveConstants LogCosh::constants() const {
  return {.L = 1.0,
          .L0 = 1.0,
          .L1 = 0.0,
          .trace_hessian_max = static_cast<double>(dim_),
          .f_star = 0.0};
}

}  // namespace dcsde
