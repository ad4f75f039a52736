#include "dcsde/sde/integrator.hpp"

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

class EulerMaruyama final : public Integrator {
 public:
  void substep(BatchRef X, const SdeCoefficients& at, double dt, double noise_scale,
               IntegratorScratch& s, RowVectorRef step_sizes) const override {
    at(X, s.drift, s.noise, s.h);
    X -= dt * s.drift + noise_scale * s.noise;
    step_sizes += dt * s.h;
  }
};

// Heun's predictor-corrector: the drift averaged over X and the Euler predictor, with the
// diffusion of X (the same Brownian draws in both evaluations).
class Heun final : public Integrator {
 public:
  void substep(BatchRef X, const SdeCoefficients& at, double dt, double noise_scale,
               IntegratorScratch& s, RowVectorRef step_sizes) const override {
    at(X, s.drift, s.noise, s.h);
    s.predictor = X - dt * s.drift - noise_scale * s.noise;
    at(s.predictor, s.drift2, s.noise2, s.h2);
    X -= 0.5 * dt * (s.drift + s.drift2) + noise_scale * s.noise;
    step_sizes += dt * s.h;
  }
};

}  // namespace

void IntegratorScratch::resize(Index d, Index cols) {
  for (Batch* b : {&drift, &noise, &predictor, &drift2, &noise2}) b->resize(d, cols);
  h.resize(cols);
  h2.resize(cols);
}

namespace {

const IntegratorSpec kSpecs[] = {
    {IntegratorKind::kEulerMaruyama, "euler_maruyama", "Euler-Maruyama, weak order 1",
     []() -> std::unique_ptr<Integrator> { return std::make_unique<EulerMaruyama>(); }},
    {IntegratorKind::kHeun, "heun",
     "Heun's predictor-corrector, weak order 2 for additive noise (1 otherwise)",
     []() -> std::unique_ptr<Integrator> { return std::make_unique<Heun>(); }},
};

}  // namespace

std::span<const IntegratorSpec> kind_specs(IntegratorKind) { return kSpecs; }

std::unique_ptr<Integrator> make_integrator(IntegratorKind kind) { return spec_of(kind).make(); }

}  // namespace dcsde
