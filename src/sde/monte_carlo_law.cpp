#include "monte_carlo_law.hpp"

#include <cmath>
#include <string>

namespace dcsde {
namespace {

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

std::unique_ptr<UpdateLaw> make_monte_carlo_law(const Method& method, Index samples) {
  return std::make_unique<MonteCarloLaw>(method, samples);
}

}  // namespace dcsde
