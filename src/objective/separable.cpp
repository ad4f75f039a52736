#include <cmath>

#include "dcsde/objective/objectives.hpp"

namespace dcsde {
namespace {

// log cosh t = |t| + log1p(exp(-2|t|)) - log 2: finite for every finite t.
double log_cosh(double t) {
  const double a = std::abs(t);
  return a + std::log1p(std::exp(-2.0 * a)) - 0.69314718055994530942;
}

}  // namespace

std::string Separable::name() const {
  switch (kind_) {
    case Kind::kQuartic:
      return "quartic";
    case Kind::kCosh:
      return "cosh";
    case Kind::kLogCosh:
      return "log_cosh";
  }
  return "";
}

void Separable::value(const ConstBatchRef& X, RowVectorRef values) const {
  switch (kind_) {
    case Kind::kQuartic:
      values = 0.25 * X.array().square().square().colwise().sum();
      break;
    case Kind::kCosh:
      values = (X.array().cosh() - 1.0).colwise().sum();
      break;
    case Kind::kLogCosh:
      values = X.unaryExpr([](double t) { return log_cosh(t); }).colwise().sum();
      break;
  }
}

void Separable::gradient(const ConstBatchRef& X, BatchRef G) const {
  switch (kind_) {
    case Kind::kQuartic:
      G = X.array().cube();
      break;
    case Kind::kCosh:
      G = X.array().sinh();
      break;
    case Kind::kLogCosh:
      G = X.array().tanh();
      break;
  }
}

void Separable::hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const {
  switch (kind_) {
    case Kind::kQuartic:
      HV = 3.0 * X.array().square() * V.array();
      break;
    case Kind::kCosh:
      HV = X.array().cosh() * V.array();
      break;
    case Kind::kLogCosh:
      HV = (1.0 - X.array().tanh().square()) * V.array();
      break;
  }
}

ObjectiveConstants Separable::constants() const {
  const double d = static_cast<double>(dim_);
  switch (kind_) {
    // Hess = diag(3 x_j^2): ||Hess|| = 3 max x_j^2 <= 3 + 3 max |x_j|^3 <= 3 + 3 ||grad f||.
    case Kind::kQuartic:
      return {.L0 = 3.0, .L1 = 3.0, .f_star = 0.0};
    // Hess = diag(cosh x_j) <= 1 + max |sinh x_j| <= 1 + ||grad f||; and
    // sinh^2 = (cosh - 1)(cosh + 1) >= 2 (cosh - 1) gives PL with mu = 1.
    case Kind::kCosh:
      return {.mu = 1.0, .L0 = 1.0, .L1 = 1.0, .f_star = 0.0};
    // Hess = diag(1 - tanh^2) <= 1.
    case Kind::kLogCosh:
      return {.L = 1.0, .L0 = 1.0, .L1 = 0.0, .trace_hessian_max = d, .f_star = 0.0};
  }
  return {};
}

}  // namespace dcsde
