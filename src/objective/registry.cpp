// The objective registry: kind -> meaning and factory (explicit table, STYLE.md "Key
// abstractions"), and the validation of ObjectiveOptions.
#include <cmath>
#include <functional>
#include <sstream>

#include "dcsde/core/error.hpp"
#include "dcsde/objective/objectives.hpp"

namespace dcsde {
namespace {

NetworkFactory& installed_network_factory() {
  static NetworkFactory factory = nullptr;
  return factory;
}

std::unique_ptr<Objective> make_network(const ObjectiveOptions& o) {
  NetworkFactory factory = installed_network_factory();
  if (!factory)
    throw ConfigError("problem.objective",
                      "problem.objective = 'torch': this dcsde was built without LibTorch; install "
                      "it (scripts/setup --with-torch, Debian package libtorch-dev) and rebuild");
  return factory(o);
}

// name, meaning, keys, max_dim, factory.
const ObjectiveSpec kSpecs[] = {
    {ObjectiveKind::kQuadratic, "quadratic",
     "1/2 sum_j h_j x_j^2; h explicit (eigenvalues) or log-spaced in [eigen_min, eigen_max]; L = "
     "max h, mu = min h",
     kObjectiveSpectrum, 0,
     [](const ObjectiveOptions& o) -> std::unique_ptr<Objective> {
       return std::make_unique<DiagonalQuadratic>(spectrum(o));
     }},
    // H and Q are dense d x d and the QR is O(d^3): the limit keeps a typo from allocating
    // gigabytes.
    {ObjectiveKind::kQuadraticRotated, "quadratic_rotated",
     "1/2 x^T Q diag(h) Q^T x, Q a Haar-random rotation drawn from seed; same h and constants",
     kObjectiveSpectrum, kMaxRotatedDim,
     [](const ObjectiveOptions& o) -> std::unique_ptr<Objective> {
       return std::make_unique<RotatedQuadratic>(spectrum(o), o.seed);
     }},
    {ObjectiveKind::kQuartic, "quartic",
     "sum_j x_j^4 / 4; (L0, L1) = (3, 3)-smooth, not L-smooth, not PL", 0, 0,
     [](const ObjectiveOptions& o) -> std::unique_ptr<Objective> {
       return std::make_unique<Quartic>(o.dim);
     }},
    {ObjectiveKind::kCosh, "cosh",
     "sum_j (cosh x_j - 1); (L0, L1) = (1, 1)-smooth, 1-PL, not L-smooth", 0, 0,
     [](const ObjectiveOptions& o) -> std::unique_ptr<Objective> {
       return std::make_unique<Cosh>(o.dim);
     }},
    {ObjectiveKind::kLogCosh, "log_cosh", "sum_j log cosh x_j; 1-smooth, not PL", 0, 0,
     [](const ObjectiveOptions& o) -> std::unique_ptr<Objective> {
       return std::make_unique<LogCosh>(o.dim);
     }},
    {ObjectiveKind::kLogistic, "logistic",
     "logistic regression on `samples` planted Gaussian points + (l2/2)||x||^2; L = "
     "lambda_max(A^T A)/(4n) + l2, mu = l2",
     kObjectiveData, 0,
     [](const ObjectiveOptions& o) -> std::unique_ptr<Objective> {
       return std::make_unique<Logistic>(o.dim, o.samples, o.l2, o.seed);
     }},
    {ObjectiveKind::kTorch, "torch",
     "a LibTorch network (model = mlp | resnet | vit | gpt) on real data (dataset = "
     "fashion_mnist | text); x = its flat parameter vector, d set by the model",
     kObjectiveNetwork, 0, make_network},
};

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// "[1, -2, 3]", at most eight entries then "...".
std::string list(const std::vector<double>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i == 8) {
      out += ", ...";
      break;
    }
    out += (i ? ", " : "") + number(v[i]);
  }
  return out + "]";
}

std::optional<ConfigError> violated(const std::string& key, const std::string& value,
                                    const std::string& constraint) {
  return ConfigError("problem." + key, "problem." + key + " = " + value +
                                           ". Violated constraint: " + constraint + ".");
}

// Keys of the quadratic kinds: the explicit spectrum, or the log-spacing range.
std::optional<ConfigError> validate_spectrum(const ObjectiveOptions& o) {
  if (!o.eigenvalues.empty()) {
    if (static_cast<Index>(o.eigenvalues.size()) != o.dim) {
      return violated("eigenvalues", list(o.eigenvalues),
                      "one eigenvalue per dimension (dim = " + std::to_string(o.dim) + ")");
    }
    for (std::size_t j = 0; j < o.eigenvalues.size(); ++j) {
      const double h = o.eigenvalues[j];
      if (!(h > 0.0) || !std::isfinite(h)) {
        return violated("eigenvalues", list(o.eigenvalues),
                        "0 < eigenvalues[j] < inf for every j (eigenvalues[" + std::to_string(j) +
                            "] = " + number(h) + ")");
      }
    }
    return std::nullopt;
  }
  if (!(o.eigen_min > 0.0)) return violated("eigen_min", number(o.eigen_min), "eigen_min > 0");
  if (!std::isfinite(o.eigen_min)) {
    return violated("eigen_min", number(o.eigen_min), "eigen_min < inf");
  }
  if (!(o.eigen_max >= o.eigen_min)) {
    return violated("eigen_max", number(o.eigen_max),
                    "eigen_max >= eigen_min (= " + number(o.eigen_min) + ")");
  }
  if (!std::isfinite(o.eigen_max)) {
    return violated("eigen_max", number(o.eigen_max), "eigen_max < inf");
  }
  return std::nullopt;
}

}  // namespace

void install_network_factory(NetworkFactory factory) { installed_network_factory() = factory; }
NetworkFactory network_factory() { return installed_network_factory(); }

void Objective::minibatch_gradient(const ConstBatchRef&, const DrawContext&, Index,
                                   BatchRef) const {
  throw ConfigError("noise.kind",
                    "noise.kind = 'minibatch': the objective '" + name() +
                        "' has no data to draw minibatches from (use objective = 'torch')");
}

std::span<const ObjectiveSpec> kind_specs(ObjectiveKind) { return kSpecs; }

std::optional<ConfigError> validate(const ObjectiveOptions& o) {
  const ObjectiveSpec& spec = spec_of(o.kind);
  if (o.dim < 1) return violated("dim", std::to_string(o.dim), "dim >= 1");
  if (spec.max_dim > 0 && o.dim > spec.max_dim)
    return violated("dim", std::to_string(o.dim),
                    "dim <= " + std::to_string(spec.max_dim) + " for " + std::string(spec.name));
  if (spec.keys & kObjectiveSpectrum) {
    if (auto error = validate_spectrum(o)) return error;
  }
  if (spec.keys & kObjectiveData) {
    if (o.samples < 1) return violated("samples", std::to_string(o.samples), "samples >= 1");
    if (!(o.l2 >= 0.0)) return violated("l2", number(o.l2), "l2 >= 0");
    if (!std::isfinite(o.l2)) return violated("l2", number(o.l2), "l2 < inf");
  }
  return std::nullopt;
}

std::unique_ptr<Objective> make_objective(const ObjectiveOptions& options) {
  if (auto error = validate(options)) throw *error;
  return spec_of(options.kind).make(options);
}

}  // namespace dcsde
