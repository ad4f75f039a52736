// The SDE of a method, simulated as a Process beside the optimizer (papers.md 5, 7.2, 7.3, 8.3).
//
// With the update law U = h_k D of sde/law.hpp (mean mu, covariance factor R), time t = k eta and
// h_k = eta eta_k, the three flavours are                                  [papers.md 5.2, 8.3]
//   first_order: dX = -(1/eta) mu dt                              + (R/sqrt(eta)) dW
//   modified:    dX = -(1/eta) (mu + (h_k^2/2) J m) dt            + (R/sqrt(eta)) dW
//   stable:      dX = -(1/eta) (mu - (h_k^2/2) J m) dt            + (R/sqrt(eta)) dW
// where m = E[D] = mu/h_k is the mean direction and J m its derivative along itself. For DSGD
// and DCSGD m = grad f and J m = Hess f grad f, so `modified` is the classic second-order
// modified equation -grad f - (eta eta_t/2) Hess f grad f (times eta_t) and `stable` is paper 2's
// stability-faithful drift -eta_t grad f + (eta eta_t^2/2) Hess f grad f; for DSignSGD the same
// construction applies to m = (1/N) sum_i m_i [DERIVED]. For nsgd and normalized_dcsgd, whose
// step h depends on x, the law's J (sde/law.hpp) makes (h_k^2/2) J m = (1/2) (grad mu) mu, the
// modified equation of x' = x - mu(x) [DERIVED].
//
// The integrator (sde/integrator.hpp: euler_maruyama, heun) takes `substeps` steps of
// dt = eta/substeps per optimizer step, with Brownian increments from their own Philox streams
// (seed, replica, 0, Purpose::kBrownian, step), so the SDE never shares draws with the optimizer.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "dcsde/run/process.hpp"
#include "dcsde/sde/integrator.hpp"
#include "dcsde/sde/law.hpp"

namespace dcsde {

// The SDE models (flavours) of the header comment; their specs are in kind_specs(SdeModel).
enum class SdeModel { kFirstOrder, kModified, kStable };

// One SDE model, declared once (core/kind.hpp).
struct SdeModelSpec {
  SdeModel kind;
  std::string_view name, meaning;
  int drift_sign;  // k of the correction k (h_k^2/2) J m: 0, +1 (modified), -1 (stable)
};
std::span<const SdeModelSpec> kind_specs(SdeModel);

struct SdeOptions {
  SdeModel model = SdeModel::kFirstOrder;
  IntegratorKind integrator = IntegratorKind::kEulerMaruyama;
  Index substeps = 1;  // integrator steps per optimizer step (dt = eta/substeps)
  LawOptions law;
};

class SdeProcess final : public Process {
 public:
  // Throws ConfigError when the method has no SDE (infinite-variance noise for DCSGD), when
  // the flavour needs a Jacobian the law does not have, or for an unknown integrator.
  SdeProcess(const Method& method, const SdeOptions& options);
  std::string name() const override { return "sde"; }
  const Objective& objective() const override { return method_.objective(); }
  std::unique_ptr<ProcessWorkspace> make_workspace(Index cols) const override;
  void step(BatchRef X, std::int64_t k, std::uint64_t seed, std::uint64_t first_replica,
            ProcessWorkspace& workspace, RowVectorRef step_sizes) const override;
  const UpdateLaw& law() const { return *law_; }
  const SdeOptions& options() const { return options_; }

 private:
  // mu + flavour correction of one (sub)step at X, and the diffusion applied to xi.
  void coefficients(const ConstBatchRef& X, std::int64_t k, std::uint64_t seed,
                    std::uint64_t first_replica, const ConstBatchRef& xi, ProcessWorkspace& ws,
                    BatchRef drift_update, BatchRef noise, RowVectorRef h) const;

  const Method& method_;
  SdeOptions options_;
  std::unique_ptr<UpdateLaw> law_;
  std::unique_ptr<Integrator> integrator_;
  int flavour_sign_ = 0;  // 0 first_order, +1 modified, -1 stable
};

}  // namespace dcsde
