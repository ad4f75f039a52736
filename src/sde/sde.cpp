#include "dcsde/sde/sde.hpp"

#include <cmath>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

struct SdeWorkspace final : ProcessWorkspace {
  std::unique_ptr<LawWorkspace> law;
  Batch xi, direction, jm;
  IntegratorScratch integrator;
};

const SdeModelSpec kModelSpecs[] = {
    {SdeModel::kFirstOrder, "first_order", "dX = -(1/eta) mu dt + (R/sqrt(eta)) dW (Thm 1)", 0},
    {SdeModel::kModified, "modified",
     "the classic second-order modified equation, drift -grad f - (eta/2) Hess f grad f", 1},
    {SdeModel::kStable, "stable",
     "paper 2's stability-faithful SDE, drift -grad f + (eta/2) Hess f grad f (papers.md 8.3)", -1},
};

}  // namespace

std::span<const SdeModelSpec> kind_specs(SdeModel) { return kModelSpecs; }

SdeProcess::SdeProcess(const Method& method, const SdeOptions& options)
    : method_(method),
      options_(options),
      law_(make_update_law(method, options.law)),
      integrator_(make_integrator(options.integrator)) {
  flavour_sign_ = spec_of(options_.model).drift_sign;
  if (flavour_sign_ != 0 && !law_->has_jacobian()) {
    const std::string model(kind_name(options_.model));
    throw ConfigError("sde.model", "sde.model = \"" + model + "\": the " + model +
                                       " drift needs the derivative of the mean update, which " +
                                       law_->name() + " does not provide for " +
                                       std::string(kind_name(method.options().kind)) +
                                       "; use model = \"first_order\"");
  }
}

std::unique_ptr<ProcessWorkspace> SdeProcess::make_workspace(Index cols) const {
  auto ws = std::make_unique<SdeWorkspace>();
  const Index d = method_.objective().dim();
  ws->law = law_->make_workspace(cols);
  ws->xi.resize(law_->noise_dim(), cols);
  ws->direction.resize(d, cols);
  ws->jm.resize(d, cols);
  ws->integrator.resize(d, cols);
  return ws;
}

void SdeProcess::coefficients(const ConstBatchRef& X, std::int64_t k, std::uint64_t seed,
                              std::uint64_t first_replica, const ConstBatchRef& xi,
                              ProcessWorkspace& base, BatchRef drift_update, BatchRef noise,
                              RowVectorRef h) const {
  auto& ws = static_cast<SdeWorkspace&>(base);
  law_->evaluate(X, k, seed, first_replica, xi, drift_update, noise, h, *ws.law);
  if (flavour_sign_ == 0) return;
  // Correction (h^2/2) J m with m = mu / h (papers.md 8.3): + for modified, - for stable.
  for (Index c = 0; c < X.cols(); ++c)
    ws.direction.col(c) = h(c) > 0 ? (drift_update.col(c) / h(c)).eval() : Vector::Zero(X.rows());
  law_->mean_direction_jacobian(X, ws.direction, ws.jm, *ws.law);
  for (Index c = 0; c < X.cols(); ++c)
    drift_update.col(c) += flavour_sign_ * 0.5 * h(c) * h(c) * ws.jm.col(c);
}

void SdeProcess::step(BatchRef X, std::int64_t k, std::uint64_t seed, std::uint64_t first_replica,
                      ProcessWorkspace& base, RowVectorRef step_sizes) const {
  auto& ws = static_cast<SdeWorkspace&>(base);
  const Index m = options_.substeps;
  const double fraction = 1.0 / static_cast<double>(m);
  const double noise_scale = std::sqrt(fraction);
  const Index noise_dim = law_->noise_dim();
  // The coefficients of this step at any point of the block (the integrator's evaluations).
  struct At final : SdeCoefficients {
    const SdeProcess& sde;
    std::int64_t k;
    std::uint64_t seed, first_replica;
    SdeWorkspace& ws;
    At(const SdeProcess& p, std::int64_t step, std::uint64_t s, std::uint64_t first,
       SdeWorkspace& w)
        : sde(p), k(step), seed(s), first_replica(first), ws(w) {}
    void operator()(const ConstBatchRef& Y, BatchRef drift, BatchRef noise,
                    RowVectorRef h) const override {
      sde.coefficients(Y, k, seed, first_replica, ws.xi, ws, drift, noise, h);
    }
  } const at(*this, k, seed, first_replica, ws);
  step_sizes.setZero();
  for (Index s = 0; s < m; ++s) {
    // Brownian increments: their own streams, one per (replica, step, substep).
    for (Index c = 0; c < X.cols(); ++c) {
      Philox rng(seed, first_replica + static_cast<std::uint64_t>(c), 0, Purpose::kBrownian,
                 static_cast<std::uint64_t>(k * m + s));
      rng.normals(ws.xi.col(c).data(), noise_dim);
    }
    integrator_->substep(X, at, fraction, noise_scale, ws.integrator, step_sizes);
  }
}

}  // namespace dcsde
