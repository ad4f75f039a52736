#include <sstream>

#include "dcsde/core/error.hpp"
#include "dcsde/objective/objectives.hpp"

namespace dcsde {

const std::vector<KindInfo>& objective_kinds() {
  static const std::vector<KindInfo> kinds = {
      {"quadratic", "1/2 sum_j h_j x_j^2, h explicit (eigenvalues) or log-spaced in [eigen_min, eigen_max]"},
      {"quadratic_rotated", "1/2 x^T Q diag(h) Q^T x with a Haar-random rotation Q from problem.seed"},
      {"quartic", "sum_j x_j^4 / 4: (L0,L1) = (3,3)-smooth, not PL"},
      {"cosh", "sum_j (cosh x_j - 1): (1,1)-smooth, 1-PL, not L-smooth"},
      {"log_cosh", "sum_j log cosh x_j: 1-smooth, not PL"},
      {"logistic", "logistic regression on `samples` synthetic points + (l2/2)||x||^2"},
  };
  return kinds;
}

std::optional<std::string> validate(const ObjectiveOptions& o) {
  auto fail = [](const std::string& key, const std::string& value, const std::string& constraint) {
    return std::optional<std::string>("problem." + key + " = " + value +
                                      ". Violated constraint: " + constraint + ".");
  };
  auto num = [](double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  };
  bool known = false;
  std::string names;
  for (const auto& k : objective_kinds()) {
    known = known || k.kind == o.kind;
    names += (names.empty() ? "" : ", ") + k.kind;
  }
  if (!known) return fail("objective", "\"" + o.kind + "\"", "one of " + names);
  if (o.dim < 1) return fail("dim", std::to_string(o.dim), "dim >= 1");
  if (o.kind == "quadratic" || o.kind == "quadratic_rotated") {
    if (!o.eigenvalues.empty()) {
      if (static_cast<Index>(o.eigenvalues.size()) != o.dim)
        return fail("eigenvalues", "(" + std::to_string(o.eigenvalues.size()) + " values)",
                    "dim = " + std::to_string(o.dim) + " values");
      for (double h : o.eigenvalues)
        if (!(h > 0.0) || !std::isfinite(h)) return fail("eigenvalues", num(h), "every eigenvalue > 0");
    } else {
      if (!(o.eigen_min > 0.0) || !std::isfinite(o.eigen_min))
        return fail("eigen_min", num(o.eigen_min), "eigen_min > 0");
      if (!(o.eigen_max >= o.eigen_min) || !std::isfinite(o.eigen_max))
        return fail("eigen_max", num(o.eigen_max), "eigen_max >= eigen_min");
    }
    if (o.kind == "quadratic_rotated" && o.dim > 4096)
      return fail("dim", std::to_string(o.dim), "dim <= 4096 for quadratic_rotated (dense H)");
  }
  if (o.kind == "logistic") {
    if (o.samples < 1) return fail("samples", std::to_string(o.samples), "samples >= 1");
    if (!(o.l2 >= 0.0) || !std::isfinite(o.l2)) return fail("l2", num(o.l2), "l2 >= 0");
  }
  return std::nullopt;
}

std::unique_ptr<Objective> make_objective(const ObjectiveOptions& o) {
  if (o.kind == "quadratic") return std::make_unique<DiagonalQuadratic>(spectrum(o));
  if (o.kind == "quadratic_rotated") return std::make_unique<RotatedQuadratic>(spectrum(o), o.seed);
  if (o.kind == "quartic") return std::make_unique<Separable>(Separable::Kind::kQuartic, o.dim);
  if (o.kind == "cosh") return std::make_unique<Separable>(Separable::Kind::kCosh, o.dim);
  if (o.kind == "log_cosh") return std::make_unique<Separable>(Separable::Kind::kLogCosh, o.dim);
  if (o.kind == "logistic") return std::make_unique<Logistic>(o.dim, o.samples, o.l2, o.seed);
  throw ConfigError("problem.objective = \"" + o.kind + "\" is not an objective");
}

}  // namespace dcsde
