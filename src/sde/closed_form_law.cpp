// The closed-form law (closed_form_law.hpp).
#include "closed_form_law.hpp"

#include <cmath>

#include "dcsde/core/error.hpp"
#include "dcsde/theory/special.hpp"

namespace dcsde::detail {
namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535588;

// sign(g) in {-1, 0, 1} (-0 for -0) by bit operations, so that the loops using it vectorize
// (comparisons turned into branches or integer conversions kept them scalar: half the time of an
// SDE step).
inline double sign_of(double g) { return std::copysign(g != 0.0 ? 1.0 : 0.0, g); }

struct ClosedFormWorkspace final : LawWorkspace {
  Batch gradient, direction, hv;
  Vector scale, variance, prob, dp;
};

class ClosedFormLaw final : public UpdateLaw {
 public:
  using Kind = ClosedFormKind;
  using StepRule = ClosedFormStep;

  ClosedFormLaw(const Method& method, Kind kind, StepRule rule)
      : method_(method),
        noise_(method.noise()),
        kind_(kind),
        rule_(rule),
        d_(method.objective().dim()),
        n_(method.agents()),
        omega_(method.mean_omega()) {
    // Per-agent compressors (Thm 1 with omega_i): Cov D = (1/N^2) sum_i [(1 + omega_i) Var Z_i +
    // omega_i M(g)] = (1/N) mean_i((1 + omega_i) Var Z_i) + (omega_bar/N) M(g), M the kind's
    // shape (diag g^2 for Bernoulli, rand-k's below): the noise part is weighted per agent.
    if (!method.uniform_compressors()) {
      for (Index i = 0; i < n_; ++i)
        agent_weight_.push_back(1.0 + method.compressor_of(i).omega(d_).value_or(0.0));
    }
    if (rule_ == StepRule::kEq15Aggregate || rule_ == StepRule::kEq15Gradient) {
      // (L0, L1) resolved as Method does: the options, else the objective's constants.
      const MethodOptions& o = method.options();
      const ObjectiveConstants constants = method.objective().constants();
      l0_ = o.L0.value_or(constants.L0.value_or(0.0));
      l1_ = o.L1.value_or(constants.L1.value_or(0.0));
      p_ = method.normalization_p();
      q_ = method.normalization_q();
    }
    // With a constant noise scale (no ||grad f|| in it) the variance of D does not depend on x
    // for these kinds: computed once here, not per column and step.
    if ((kind_ == Kind::kAverage || kind_ == Kind::kRandK) &&
        noise_.family() != NoiseModel::Family::kMinibatch &&
        noise_.scale_rule() == NoiseModel::ScaleRule::kConstant) {
      ClosedFormWorkspace ws;
      ws.scale.resize(d_);
      ws.variance.resize(d_);
      mean_square_scale(Vector::Zero(d_), ws);
      fixed_variance_ = ws.variance / static_cast<double>(n_);
      if (kind_ == Kind::kRandK) fixed_variance_ *= noise_factor();
      fixed_sd_ = fixed_variance_.cwiseSqrt();
    }
  }

  std::string name() const override {
    const bool delta = rule_ == StepRule::kNsgd || rule_ == StepRule::kEq15Aggregate;
    return delta ? "closed_form(delta)" : "closed_form";
  }
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
    const double eta_k = method_.schedule().multiplier(k);
    const double h = method_.options().lr * eta_k;
    const double inv_n = 1.0 / static_cast<double>(n_);
    for (Index c = 0; c < X.cols(); ++c) {
      const auto g = ws.gradient.col(c);
      switch (kind_) {
        case Kind::kAverage:
        case Kind::kBernoulli:
        case Kind::kRandK: {
          // D = (1/N) sum_i C(g + Z_i): E D = g and Cov D = diag(variance) (+ the rand-k
          // term), with variance = (1/N) mean_i Var Z_i first (Thm 1, papers.md 7.2).
          const bool fixed = fixed_sd_.size() != 0;
          if (fixed && rule_ == StepRule::kScheduled) {  // workload (c): two passes, not six
            scheduled_fixed(g, xi.col(c), h, mean.col(c), noise.col(c));
            step_size(c) = h;
            break;
          }
          if (fixed) {
            noise.col(c) = fixed_sd_.cwiseProduct(xi.col(c).head(d_));
          } else {
            mean_square_scale(g, ws);
            ws.variance *= inv_n;
            if (kind_ == Kind::kBernoulli)
              ws.variance = noise_factor() * ws.variance + omega_ * inv_n * g.cwiseAbs2();
            if (kind_ == Kind::kRandK) ws.variance *= noise_factor();
            noise.col(c) = ws.variance.cwiseSqrt().cwiseProduct(xi.col(c).head(d_));
          }
          if (kind_ == Kind::kRandK)
            add_rand_k_root(g, xi.col(c).tail(d_), std::sqrt(inv_n), noise.col(c));
          // noise.col(c) = R_D xi; the step rule maps (g, R_D xi) to (mu, R xi).
          step_size(c) = apply_step(g, eta_k, fixed ? fixed_variance_ : ws.variance, mean.col(c),
                                    noise.col(c));
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
          step_size(c) = h;
          break;
        }
        case Kind::kMajority: {
          majority(g, ws, ws.direction.col(c), ws.variance);
          mean.col(c) = h * ws.direction.col(c);
          noise.col(c) = h * ws.variance.cwiseMax(0.0).cwiseSqrt().cwiseProduct(xi.col(c));
          step_size(c) = h;
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
      if (rule_ == StepRule::kScheduled) return;
      // mu = h(||g||) g [DERIVED]: (1/h) d/de mu(x + e v) = Hv + (h'/h)(r) g (g . Hv) / r.
      method_.objective().gradient(X, ws.gradient);
      for (Index c = 0; c < X.cols(); ++c) {
        const auto g = ws.gradient.col(c);
        const double r = g.norm();
        if (r > 0.0) JV.col(c) += (log_slope(r) / r * g.dot(ws.hv.col(c))) * g;
      }
      return;
    }
    // E[D]_j = (1/N) sum_i phi(y_ij), y_ij = g_j / s_ij, s_ij = a_i(||g||) c_j / sqrt(B) (papers.md
    // 7.3): J v = (1/N) sum_i phi'(y_ij) (Hv_j / s_ij - y_ij (a_i'/a_i)(r) (g . Hv) / r) [DERIVED];
    // the second term, an affine scale's dependence on x, is O(1) (tests/sde/jacobian_test.cpp).
    method_.objective().gradient(X, ws.gradient);
    for (Index c = 0; c < X.cols(); ++c) {
      const auto g = ws.gradient.col(c);
      const auto hv = ws.hv.col(c);
      const double r = g.norm();
      const double g_hv = g.dot(hv);
      ws.variance.setZero();
      for (Index i = 0; i < n_; ++i) {
        noise_.scale(g, i, ws.scale);
        const double scale_rate = noise_.agent_scale_log_slope(r, i) * g_hv;  // (a'/a) dr
        for (Index j = 0; j < d_; ++j) {
          const double s = ws.scale[j];
          if (s > 0.0) {
            const double y = g[j] / s;
            ws.variance[j] += phi_derivative(y) * (hv[j] / s - y * scale_rate);
          }
        }
      }
      JV.col(c) = ws.variance / static_cast<double>(n_);
    }
  }

 private:
  // h(r) of the step rule at r = ||D|| (or ||grad f||), and h'(r)/h(r).
  double step_at(double r, double eta_k) const {
    switch (rule_) {
      case StepRule::kScheduled:
        return method_.options().lr * eta_k;
      case StepRule::kNsgd:
        return method_.options().lr * eta_k / r;
      default:
        return 2.0 * method_.options().eps * eta_k / ((l0_ + l1_ * r) * p_ + q_);
    }
  }
  double log_slope(double r) const {
    if (rule_ == StepRule::kScheduled) return 0.0;
    if (rule_ == StepRule::kNsgd) return -1.0 / r;
    return -l1_ * p_ / ((l0_ + l1_ * r) * p_ + q_);
  }

  // Maps the direction's law (mean g, noise = R_D xi, diagonal part `diag` of Sigma_D) to the
  // update's (mean = mu, noise = R xi) and returns h_k; the formulas, all [DERIVED], are those of
  // sde/law.hpp: exact for a step fixed given x, the delta method J R_D for a step of ||D||, the
  // g = 0 fallbacks and the nsgd safeguard tr Cov U <= (eta eta_k)^2 (||U|| = eta eta_k).
  double apply_step(const ConstVectorRef& g, double eta_k, const Vector& diag,
                    Eigen::Ref<Vector> mean, Eigen::Ref<Vector> noise) const {
    if (rule_ == StepRule::kScheduled || rule_ == StepRule::kEq15Gradient) {
      const double h = step_at(g.norm(), eta_k);
      mean = h * g;
      noise *= h;
      return h;
    }
    const double r = g.norm();
    const double c = method_.options().lr * eta_k;
    if (r == 0.0) {
      mean.setZero();
      double h = step_at(0.0, eta_k);
      if (rule_ == StepRule::kNsgd) {
        const double trace = diag.sum();  // the rand-k term vanishes at g = 0
        h = trace > 0.0 ? c / std::sqrt(trace) : 0.0;
      }
      noise *= h;
      return h;
    }
    const double h = step_at(r, eta_k);
    mean = h * g;
    const double along = h * log_slope(r) * g.dot(noise) / r;  // h'(r) (g . R_D xi) / r
    noise = h * noise + along * g;
    if (rule_ == StepRule::kNsgd) {
      const double perp = sigma_trace(g, diag) - sigma_along(g, diag) / (r * r);
      if (perp > r * r) noise *= r / std::sqrt(perp);
    }
    return h;
  }

  // tr Sigma_D and g^T Sigma_D g, with Sigma_D = diag(diag) + (1/N) c (d diag(g^2) - g g^T)
  // for rand-k (c = omega/(d-1)), diag(diag) otherwise.
  double sigma_trace(const ConstVectorRef& g, const Vector& diag) const {
    double t = diag.sum();
    if (kind_ == Kind::kRandK && d_ >= 2) t += omega_ / static_cast<double>(n_) * g.squaredNorm();
    return t;
  }
  double sigma_along(const ConstVectorRef& g, const Vector& diag) const {
    double q = g.cwiseAbs2().dot(diag);
    if (kind_ == Kind::kRandK && d_ >= 2) {
      const double c = omega_ / static_cast<double>(d_ - 1) / static_cast<double>(n_);
      q += c * (static_cast<double>(d_) * g.cwiseAbs2().squaredNorm() -
                g.squaredNorm() * g.squaredNorm());
    }
    return q;
  }

  // ws.variance = (1/N) sum_i Var Z_ij, the mean over agents of the per-coordinate variance:
  // s_ij^2 for Gaussian noise, s_ij^2 nu/(nu - 2) for Student-t (nu > 2, papers.md 4.2).
  // With per-agent compressors, agent i's term is weighted by 1 + omega_i (agent_weight_).
  void mean_square_scale(const Eigen::Ref<const Vector>& g, ClosedFormWorkspace& ws) const {
    ws.variance.setZero();
    for (Index i = 0; i < n_; ++i) {
      noise_.scale(g, i, ws.scale);
      if (agent_weight_.empty()) {
        ws.variance += ws.scale.cwiseAbs2();
      } else {
        ws.variance += agent_weight_[static_cast<std::size_t>(i)] * ws.scale.cwiseAbs2();
      }
    }
    double factor = 1.0 / static_cast<double>(n_);
    if (noise_.family() == NoiseModel::Family::kStudentT)
      factor *= noise_.nu() / (noise_.nu() - 2.0);
    ws.variance *= factor;
  }

  // The common case fused (constant noise scale, scheduled step h): mean = h g and
  // noise = h (sd o xi_1 + R_randk(g) xi_2), the same operations in the same order as the
  // general path (noise = sd o xi_1, add_rand_k_root, then apply_step's noise *= h).
  void scheduled_fixed(const Eigen::Ref<const Vector>& g, const Eigen::Ref<const Vector>& xi,
                       double h, Eigen::Ref<Vector> mean, Eigen::Ref<Vector> noise) const {
    const double* __restrict gp = g.data();
    const double* __restrict x1 = xi.data();
    const double* __restrict x2 = x1 + d_;
    const double* __restrict sd = fixed_sd_.data();
    double* __restrict mp = mean.data();
    double* __restrict np = noise.data();
    double nonzero = 0.0, s_dot_xi = 0.0;
    const bool root = kind_ == Kind::kRandK && d_ >= 2 && omega_ != 0.0;
    if (root) rand_k_sums(gp, x2, nonzero, s_dot_xi);
    if (!root || nonzero == 0.0) {
      for (Index j = 0; j < d_; ++j) {
        mp[j] = h * gp[j];
        np[j] = (sd[j] * x1[j]) * h;
      }
      return;
    }
    const double rd = std::sqrt(static_cast<double>(d_));
    const double projected = s_dot_xi / nonzero;
    const double along = std::sqrt(static_cast<double>(d_) - nonzero) * projected;
    const double scale =
        std::sqrt(1.0 / static_cast<double>(n_)) * std::sqrt(omega_ / static_cast<double>(d_ - 1));
    for (Index j = 0; j < d_; ++j) {
      const double s = sign_of(gp[j]);
      mp[j] = h * gp[j];
      np[j] =
          (sd[j] * x1[j] + scale * std::abs(gp[j]) * (rd * (x2[j] - s * projected) + s * along)) *
          h;
    }
  }

  // n = #nonzero g_j and s . xi with s = sign(g), in eight interleaved partial sums: a fixed
  // order (the same bits for any thread count) that the compiler can still vectorize (one
  // running sum cannot be, without reassociation).
  void rand_k_sums(const double* __restrict g, const double* __restrict xi, double& nonzero,
                   double& s_dot_xi) const {
    double n[8] = {}, p[8] = {};
    Index j = 0;
    for (; j + 8 <= d_; j += 8) {
      for (int l = 0; l < 8; ++l) {
        const double s = sign_of(g[j + l]);
        n[l] += s * s;
        p[l] += s * xi[j + l];
      }
    }
    for (; j < d_; ++j) {
      const double s = sign_of(g[j]);
      n[0] += s * s;
      p[0] += s * xi[j];
    }
    nonzero = ((n[0] + n[1]) + (n[2] + n[3])) + ((n[4] + n[5]) + (n[6] + n[7]));
    s_dot_xi = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  }

  // out += a R(g) xi with R R^T = c (d diag(g^2) - g g^T), c = omega/(d-1) (papers.md 3):
  // R = sqrt(c) diag|g| (sqrt(d)(I - P) + sqrt(d - n) P), P = s s^T / n, s = sign(g), n = #nonzero.
  void add_rand_k_root(const Eigen::Ref<const Vector>& g, const Eigen::Ref<const Vector>& xi,
                       double a, Eigen::Ref<Vector> out) const {
    if (d_ < 2 || omega_ == 0.0) return;
    const double c = omega_ / static_cast<double>(d_ - 1);
    // Branch-free (s_j = sign g_j in {-1, 0, 1}), so that the compiler vectorizes both passes.
    const double* __restrict gp = g.data();
    const double* __restrict xp = xi.data();
    double* __restrict op = out.data();
    double nonzero = 0.0, s_dot_xi = 0.0;
    rand_k_sums(gp, xp, nonzero, s_dot_xi);
    if (nonzero == 0.0) return;
    const double sd = std::sqrt(static_cast<double>(d_));
    const double projected = s_dot_xi / nonzero;
    const double along = std::sqrt(static_cast<double>(d_) - nonzero) * projected;
    const double scale = a * std::sqrt(c);
    for (Index j = 0; j < d_; ++j) {
      const double s = sign_of(gp[j]);
      // g_j = 0 contributes 0 (|g_j| = 0), as the root's diag|g| factor says.
      op[j] += scale * std::abs(gp[j]) * (sd * (xp[j] - s * projected) + s * along);
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
  StepRule rule_;
  Index d_, n_;
  double omega_;                      // omega_bar, the mean over agents
  std::vector<double> agent_weight_;  // 1 + omega_i per agent; empty when the agents share one
  // The factor of the noise part of Cov D: 1 + omega, or 1 where mean_square_scale weighted it.
  double noise_factor() const { return agent_weight_.empty() ? 1.0 + omega_ : 1.0; }
  Vector fixed_variance_, fixed_sd_;        // constant noise scale: the variance of D and its root
  double l0_ = 0, l1_ = 0, p_ = 1, q_ = 0;  // Eq. 15 (normalized_dcsgd)
};

}  // namespace

std::unique_ptr<UpdateLaw> make_closed_form_law(const Method& method, ClosedFormKind kind,
                                                ClosedFormStep rule) {
  return std::make_unique<ClosedFormLaw>(method, kind, rule);
}

}  // namespace dcsde::detail
