#include "dcsde/sde/law.hpp"

#include <fmt/format.h>

#include <cmath>

#include "closed_form_law.hpp"
#include "dcsde/core/error.hpp"
#include "monte_carlo_law.hpp"

namespace dcsde {

void UpdateLaw::mean_direction_jacobian(const ConstBatchRef&, const ConstBatchRef&, BatchRef,
                                        LawWorkspace&) const {
  DCSDE_ASSERT(false, "this update law has no Jacobian; check has_jacobian() first");
}

namespace {

// The closed-form law of a method, compressor and noise, if there is one (has_closed_form_law).
std::optional<detail::ClosedFormKind> closed_form_kind(MethodKind method,
                                                       std::span<const CompressorKind> compressors,
                                                       NoiseKind noise) {
  // Minibatch noise has no closed-form scale: only Monte Carlo applies.
  if (spec_of(noise).family == NoiseFamily::kMinibatch) return std::nullopt;
  const MethodSpec& m = spec_of(method);
  if (m.needs == CompressorNeed::kSigns)
    return m.aggregation == Aggregation::kMajority ? detail::ClosedFormKind::kMajority
                                                   : detail::ClosedFormKind::kSign;
  // The averaged direction D has a closed-form law for these compressors (Thm 1).
  switch (common_law(compressors)) {
    case CompressionLaw::kIdentity:
      return detail::ClosedFormKind::kAverage;
    case CompressionLaw::kBernoulli:
      return detail::ClosedFormKind::kBernoulli;
    case CompressionLaw::kRandK:
      return detail::ClosedFormKind::kRandK;
    case CompressionLaw::kNone:
      break;
  }
  return std::nullopt;
}

// The law's step rule: the method's (method.hpp), with Eq. 15 split by the norm it reads.
detail::ClosedFormStep closed_form_rule(const MethodOptions& options) {
  switch (spec_of(options.kind).rule) {
    case StepRule::kNormalized:
      return detail::ClosedFormStep::kNsgd;
    case StepRule::kEq15:
      return options.norm_of == NormOf::kGradient ? detail::ClosedFormStep::kEq15Gradient
                                                  : detail::ClosedFormStep::kEq15Aggregate;
    case StepRule::kScheduled:
      break;
  }
  return detail::ClosedFormStep::kScheduled;
}

const LawSpec kLawSpecs[] = {
    {LawKind::kAuto, "auto", "the closed form where one exists, else Monte Carlo"},
    {LawKind::kClosedForm, "closed_form", "the exact mean and covariance of the update (Thm 1)"},
    {LawKind::kMonteCarlo, "monte_carlo", "mean and covariance estimated from law_samples draws"},
};

}  // namespace

namespace {

// The kind of each agent's compressor (one when they share it).
std::vector<CompressorKind> agent_kinds(const Method& method) {
  if (method.uniform_compressors()) return {method.compressor().kind()};
  std::vector<CompressorKind> kinds;
  for (Index i = 0; i < method.agents(); ++i) kinds.push_back(method.compressor_of(i).kind());
  return kinds;
}

}  // namespace

std::span<const LawSpec> kind_specs(LawKind) { return kLawSpecs; }

bool has_closed_form_law(MethodKind method, std::span<const CompressorKind> compressors,
                         NoiseKind noise) {
  return closed_form_kind(method, compressors, noise).has_value();
}

std::unique_ptr<UpdateLaw> make_update_law(const Method& method, const LawOptions& options) {
  const MethodOptions& m = method.options();
  const std::string kind(kind_name(m.kind));
  const NoiseModel& noise = method.noise();
  if (spec_of(m.kind).needs != CompressorNeed::kSigns && !noise.finite_variance()) {
    throw ConfigError(
        "noise.nu",
        "noise.nu = " + fmt::format("{}", noise.nu()) + ": the SDE of " + kind +
            " does not exist under Student-t noise with nu <= 2: the batch-noise covariance "
            "Sigma_i is "
            "infinite, so the diffusion sqrt(eta/N) "
            "Sigma~^{1/2} of Thm 1 is undefined (papers.md 7.2). This is the papers' point: "
            "unbiased "
            "compression cannot tame heavy tails, while DSignSGD's SDE exists for every nu > 0.");
  }
  const std::optional<detail::ClosedFormKind> closed =
      closed_form_kind(m.kind, agent_kinds(method), noise.kind());
  if (options.kind == LawKind::kClosedForm || (options.kind == LawKind::kAuto && closed)) {
    if (!closed)
      throw ConfigError("sde.law", "sde.law = \"closed_form\": " + kind + " with compressor " +
                                       method.compressor().name() + " and noise " + noise.name() +
                                       " has no closed-form law; use law = \"monte_carlo\"");
    return detail::make_closed_form_law(method, *closed, closed_form_rule(m));
  }
  return make_monte_carlo_law(method, options.samples);
}

}  // namespace dcsde
