// SDE integrators (papers.md 5.2): one substep of dt = eta/substeps of dX = -b dt - sigma dW,
// given the coefficients at any point. Each integrator is a type, declared once in
// kind_specs(IntegratorKind) with its name and meaning; SdeProcess (sde/sde.hpp) asks the table
// for the one [sde] integrator names, so a new integrator is its class, its enum value and its
// entry there.
//   euler_maruyama: X -= b(X) dt + sigma(X) dW                    weak order 1
//   heun:           X~ = X - b(X) dt - sigma(X) dW,
//                   X -= (b(X) + b(X~))/2 dt + sigma(X) dW        weak order 2 for additive noise
//                                                                 (sigma independent of X), 1
//                                                                 otherwise
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "dcsde/core/kind.hpp"
#include "dcsde/core/types.hpp"

namespace dcsde {

// The coefficients at a point X of the block: the drift update b dt-scaled to one optimizer
// step (the law's mean update plus the flavour's correction), the noise sigma xi for this
// substep's Brownian draws xi, and the step sizes h.
// An interface, not a std::function: the step loop must not allocate (tests/run/allocation_test).
class SdeCoefficients {
 public:
  virtual void operator()(const ConstBatchRef& X, BatchRef drift, BatchRef noise,
                          RowVectorRef h) const = 0;

 protected:
  ~SdeCoefficients() = default;
};

// Scratch of one block, sized by SdeProcess::make_workspace.
struct IntegratorScratch {
  Batch drift, noise, predictor, drift2, noise2;
  RowVector h, h2;
  void resize(Index d, Index cols);
};

class Integrator {
 public:
  virtual ~Integrator() = default;
  // Advances X by one substep: a fraction `dt` of an optimizer step, with Brownian increments
  // scaled by `noise_scale` = sqrt(dt); adds the substep's step sizes (dt h) to `step_sizes`.
  virtual void substep(BatchRef X, const SdeCoefficients& at, double dt, double noise_scale,
                       IntegratorScratch& scratch, RowVectorRef step_sizes) const = 0;
};

enum class IntegratorKind { kEulerMaruyama, kHeun };

// One integrator, declared once (core/kind.hpp).
struct IntegratorSpec {
  IntegratorKind kind;
  std::string_view name, meaning;
  std::unique_ptr<Integrator> (*make)();
};
std::span<const IntegratorSpec> kind_specs(IntegratorKind);

std::unique_ptr<Integrator> make_integrator(IntegratorKind kind);

}  // namespace dcsde
