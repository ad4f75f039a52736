#include "dcsde/sde/law.hpp"

#include <fmt/format.h>

#include <cmath>

#include "dcsde/core/error.hpp"
#include "dcsde/theory/special.hpp"

namespace dcsde {
namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535588;

struct ClosedFormWorkspace final : LawWorkspace {
  Batch gradient, direction, hv;
  Vector scale, variance, prob, dp;
};

class ClosedFormLaw final : public UpdateLaw {
 public:
  enum class Kind { kAverage, kBernoulli, kRandK, kSign, kMajority };

  ClosedFormLaw(const Method& method, Kind kind)
      : method_(method),
        noise_(method.noise()),
        kind_(kind),
        d_(method.objective().dim()),
        n_(method.agents()),
        omega_(method.compressor().omega(d_).value_or(0.0)) {}

  std::string name() const override { return "closed_form"; }
  Index noise_dim() const override { return kind_ == Kind::kRandK ? 2 * d_ : d_; }
  std::unique_ptr<LawWorkspace> make_workspace(Index cols) const override {
    auto ws = std::make_unique<ClosedFormWorkspace>();
    ws->gradient.resize(d_, cols);
    ws->direction.resize(d_, cols);
    ws->hv.resize(d_, cols);
    ws->scale.resize(d_);
    ws->variance.resize(d_);
    ws->prob.resize(d_);
    ws->dp.resize(n_ + 1);
    return ws;
  }

  void evaluate(const ConstBatchRef& X, std::int64_t k, std::uint64_t, std::uint64_t,
                const ConstBatchRef& xi, BatchRef mean, BatchRef noise, RowVectorRef step_size,
                LawWorkspace& base) const override {
    auto& ws = static_cast<ClosedFormWorkspace&>(base);
    method_.objective().gradient(X, ws.gradient);
    const double h = method_.options().lr * method_.schedule().multiplier(k);
    step_size.setConstant(h);
    const double inv_n = 1.0 / static_cast<double>(n_);
    for (Index c = 0; c < X.cols(); ++c) {
      const auto g = ws.gradient.col(c);
      switch (kind_) {
        case Kind::kAverage:
        case Kind::kBernoulli:
        case Kind::kRandK: {
          // Batch-noise variance averaged over agents: (1/N^2) sum_i s_ij^2.
          mean_square_scale(g, ws);
          ws.variance *= inv_n;
          if (kind_ == Kind::kAverage) {
            noise.col(c) = h * ws.variance.cwiseSqrt().cwiseProduct(xi.col(c).head(d_));
          } else if (kind_ == Kind::kBernoulli) {
            ws.variance = (1.0 + omega_) * ws.variance + omega_ * inv_n * g.cwiseAbs2();
            noise.col(c) = h * ws.variance.cwiseSqrt().cwiseProduct(xi.col(c).head(d_));
          } else {
            noise.col(c) = h * std::sqrt(1.0 + omega_) *
                           ws.variance.cwiseSqrt().cwiseProduct(xi.col(c).head(d_));
            add_rand_k_root(g, xi.col(c).tail(d_), h * std::sqrt(inv_n), noise.col(c));
          }
          mean.col(c) = h * g;
          ws.direction.col(c) = g;
          break;
        }
        case Kind::kSign: {
          ws.direction.col(c).setZero();
          ws.variance.setZero();
          for (Index i = 0; i < n_; ++i) {
            sign_probability(g, i, ws);
            ws.direction.col(c) += ws.prob;
            ws.variance += (1.0 - ws.prob.array().square()).matrix();
          }
          ws.direction.col(c) *= inv_n;
          mean.col(c) = h * ws.direction.col(c);
          noise.col(c) = h * inv_n * ws.variance.cwiseMax(0.0).cwiseSqrt().cwiseProduct(xi.col(c));
          break;
        }
        case Kind::kMajority: {
          majority(g, ws, ws.direction.col(c), ws.variance);
          mean.col(c) = h * ws.direction.col(c);
          noise.col(c) = h * ws.variance.cwiseMax(0.0).cwiseSqrt().cwiseProduct(xi.col(c));
          break;
        }
      }
    }
  }

  bool has_jacobian() const override { return kind_ != Kind::kMajority; }

  void mean_direction_jacobian(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef JV,
                               LawWorkspace& base) const override {
    auto& ws = static_cast<ClosedFormWorkspace&>(base);
    method_.objective().hvp(X, V, ws.hv);
    if (kind_ != Kind::kSign) {  // E[D] = grad f: J v = Hess f v
      JV = ws.hv;
      return;
    }
    // E[D]_j = (1/N) sum_i phi(g_j / s_ij): J v = (1/N) sum_i phi'(g_j/s_ij)/s_ij (Hv)_j, with
    // the scale held fixed (for affine scales this drops ds/dx: [DERIVED, first order in s']).
    method_.objective().gradient(X, ws.gradient);
    for (Index c = 0; c < X.cols(); ++c) {
      const auto g = ws.gradient.col(c);
      ws.variance.setZero();
      for (Index i = 0; i < n_; ++i) {
        noise_.scale(g, i, ws.scale);
        for (Index j = 0; j < d_; ++j) {
          const double s = ws.scale[j];
          if (s > 0.0) ws.variance[j] += phi_derivative(g[j] / s) / s;
        }
      }
      JV.col(c) = ws.variance.cwiseProduct(ws.hv.col(c)) / static_cast<double>(n_);
    }
  }

 private:
  // ws.variance = sum_i s_ij^2 / N (the mean over agents of the per-coordinate variance).
  void mean_square_scale(const Eigen::Ref<const Vector>& g, ClosedFormWorkspace& ws) const {
    ws.variance.setZero();
    for (Index i = 0; i < n_; ++i) {
      noise_.scale(g, i, ws.scale);
      ws.variance += ws.scale.cwiseAbs2();
    }
    ws.variance /= static_cast<double>(n_);
  }

  // out += a R(g) xi with R R^T = c (d diag(g^2) - g g^T), c = omega/(d-1) (papers.md 3):
  // R = sqrt(c) diag|g| (sqrt(d)(I - P) + sqrt(d - n) P), P = s s^T / n, s = sign(g), n = #nonzero.
  void add_rand_k_root(const Eigen::Ref<const Vector>& g, const Eigen::Ref<const Vector>& xi,
                       double a, Eigen::Ref<Vector> out) const {
    if (d_ < 2 || omega_ == 0.0) return;
    const double c = omega_ / static_cast<double>(d_ - 1);
    double nonzero = 0.0, s_dot_xi = 0.0;
    for (Index j = 0; j < d_; ++j) {
      if (g[j] != 0.0) {
        nonzero += 1.0;
        s_dot_xi += g[j] > 0 ? xi[j] : -xi[j];
      }
    }
    if (nonzero == 0.0) return;
    const double sd = std::sqrt(static_cast<double>(d_));
    const double projected = s_dot_xi / nonzero;
    const double along = std::sqrt(static_cast<double>(d_) - nonzero) * projected;
    const double scale = a * std::sqrt(c);
    for (Index j = 0; j < d_; ++j) {
      if (g[j] == 0.0) continue;
      const double s = g[j] > 0 ? 1.0 : -1.0;
      out[j] += scale * std::abs(g[j]) * (sd * (xi[j] - s * projected) + s * along);
    }
  }

  // m = phi(g/s): erf(y/sqrt2) for Gaussian noise, 2 Xi_nu(y) for Student-t (papers.md 7.3).
  double phi(double y) const {
    if (noise_.family() == NoiseModel::Family::kGaussian) return std::erf(y / std::sqrt(2.0));
    return 2.0 * xi_nu(y, noise_.nu());
  }
  double phi_derivative(double y) const {
    if (noise_.family() == NoiseModel::Family::kGaussian)
      return kSqrt2OverPi * std::exp(-0.5 * y * y);
    return 2.0 * xi_nu_derivative(y, noise_.nu());
  }

  // ws.prob = m_i = E sign(g + Z_i) = 1 - 2 P(g + Z_i < 0), per coordinate (papers.md 7.3).
  void sign_probability(const Eigen::Ref<const Vector>& g, Index agent,
                        ClosedFormWorkspace& ws) const {
    noise_.scale(g, agent, ws.scale);
    for (Index j = 0; j < d_; ++j) {
      const double s = ws.scale[j];
      ws.prob[j] = s > 0.0 ? phi(g[j] / s) : (g[j] > 0 ? 1.0 : (g[j] < 0 ? -1.0 : 0.0));
    }
  }

  // Majority vote: D_j = sign(sum_i sign_i), sign_i = +1 w.p. (1 + m_ij)/2 independently.
  // The count of +1 votes is Poisson-binomial; its law by the O(N^2) recursion.
  void majority(const Eigen::Ref<const Vector>& g, ClosedFormWorkspace& ws, Eigen::Ref<Vector> mean,
                Vector& variance) const {
    Eigen::MatrixXd p(d_, n_);
    for (Index i = 0; i < n_; ++i) {
      sign_probability(g, i, ws);
      p.col(i) = 0.5 * (1.0 + ws.prob.array());
    }
    for (Index j = 0; j < d_; ++j) {
      ws.dp.setZero();
      ws.dp[0] = 1.0;
      for (Index i = 0; i < n_; ++i) {
        const double q = p(j, i);
        for (Index m = i + 1; m >= 1; --m) ws.dp[m] = ws.dp[m] * (1.0 - q) + ws.dp[m - 1] * q;
        ws.dp[0] *= 1.0 - q;
      }
      double up = 0.0, down = 0.0;
      for (Index m = 0; m <= n_; ++m) {
        if (2 * m > n_) up += ws.dp[m];
        if (2 * m < n_) down += ws.dp[m];
      }
      mean[j] = up - down;
      variance[j] = up + down - mean[j] * mean[j];
    }
  }

  const Method& method_;
  const NoiseModel& noise_;
  Kind kind_;
  Index d_, n_;
  double omega_;
};

struct MonteCarloWorkspace final : LawWorkspace {
  Batch x, start, samples;  // samples: d x (M cols) for one replica
  MethodWorkspace method;
  RowVector h;
};

class MonteCarloLaw final : public UpdateLaw {
 public:
  MonteCarloLaw(const Method& method, Index samples) : method_(method), m_(samples) {}
  std::string name() const override { return "monte_carlo(" + std::to_string(m_) + ")"; }
  Index noise_dim() const override { return m_; }
  std::unique_ptr<LawWorkspace> make_workspace(Index) const override {
    auto ws = std::make_unique<MonteCarloWorkspace>();
    const Index d = method_.objective().dim();
    ws->x.resize(d, m_);
    ws->start.resize(d, m_);
    ws->samples.resize(d, m_);
    ws->method.resize(d, m_);
    ws->h.resize(m_);
    return ws;
  }

  void evaluate(const ConstBatchRef& X, std::int64_t k, std::uint64_t seed,
                std::uint64_t first_replica, const ConstBatchRef& xi, BatchRef mean, BatchRef noise,
                RowVectorRef step_size, LawWorkspace& base) const override {
    auto& ws = static_cast<MonteCarloWorkspace&>(base);
    // The drift uses the sample mean, whose own error has covariance Cov/M; the factor uses the
    // 1/M covariance estimate, so that the update mean + R xi has exactly E = mu and
    // Cov = (1 - 1/M) Cov + Cov/M = Cov.
    const double inv_sqrt = 1.0 / std::sqrt(static_cast<double>(m_));
    for (Index c = 0; c < X.cols(); ++c) {
      // M independent updates at x: the method's sampler on M copies of x, with streams of its
      // own (a seed derived from (seed, replica, kLaw, step)), so that they never reuse the
      // optimizer's draws.
      const std::uint64_t law_seed = Philox(seed, first_replica + static_cast<std::uint64_t>(c), 0,
                                            Purpose::kLaw, static_cast<std::uint64_t>(k))
                                         .next_u64();
      ws.start = X.col(c).replicate(1, m_);
      ws.x = ws.start;
      method_.step(ws.x, k, law_seed, 0, ws.method, ws.h);
      ws.samples = ws.start - ws.x;  // U^(j) = x - x_next
      step_size(c) = ws.h.mean();
      mean.col(c) = ws.samples.rowwise().mean();
      ws.samples.colwise() -= mean.col(c);
      noise.col(c).noalias() = inv_sqrt * ws.samples * xi.col(c);
    }
  }

 private:
  const Method& method_;
  Index m_;
};

}  // namespace

void UpdateLaw::mean_direction_jacobian(const ConstBatchRef&, const ConstBatchRef&, BatchRef,
                                        LawWorkspace&) const {
  DCSDE_ASSERT(false, "this update law has no Jacobian; check has_jacobian() first");
}

std::unique_ptr<UpdateLaw> make_update_law(const Method& method, const LawOptions& options) {
  const std::string kind = method.options().kind;
  const std::string compressor = method.compressor().name();
  const NoiseModel& noise = method.noise();
  if ((kind == "dsgd" || kind == "dcsgd" || kind == "normalized_dcsgd" || kind == "nsgd") &&
      !noise.finite_variance()) {
    throw ConfigError(
        "noise.nu = " + fmt::format("{}", noise.nu()) + ": the SDE of " + kind +
        " does not exist under Student-t noise with nu <= 2: the batch-noise covariance Sigma_i is "
        "infinite, so the diffusion sqrt(eta/N) "
        "Sigma~^{1/2} of Thm 1 is undefined (papers.md 7.2). This is the papers' point: unbiased "
        "compression cannot tame heavy tails, while DSignSGD's SDE exists for every nu > 0.");
  }
  std::optional<ClosedFormLaw::Kind> closed;
  if (kind == "dsgd" || (kind == "dcsgd" && compressor == "identity"))
    closed = ClosedFormLaw::Kind::kAverage;
  if (kind == "dcsgd" && compressor == "bernoulli") closed = ClosedFormLaw::Kind::kBernoulli;
  if (kind == "dcsgd" && compressor == "rand_k") closed = ClosedFormLaw::Kind::kRandK;
  if (kind == "dsignsgd") closed = ClosedFormLaw::Kind::kSign;
  if (kind == "majority_vote") closed = ClosedFormLaw::Kind::kMajority;
  if (options.kind == "closed_form" || (options.kind == "auto" && closed)) {
    if (!closed)
      throw ConfigError("sde.law = \"closed_form\": " + kind + " with compressor " + compressor +
                        " has no closed-form law; use law = \"monte_carlo\"");
    return std::make_unique<ClosedFormLaw>(method, *closed);
  }
  return std::make_unique<MonteCarloLaw>(method, options.samples);
}

}  // namespace dcsde
