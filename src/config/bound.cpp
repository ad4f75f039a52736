#include "dcsde/config/bound.hpp"

#include <algorithm>
#include <cmath>

namespace dcsde {

static double max_of(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

// The theorem for the experiment's method, with every input read off the experiment.
ExperimentBound experiment_bound(const Experiment& e) {
  const Assembled a = assemble(e);
  const ObjectiveConstants k = a.objective->constants();
  const Vector x0 = e.initial_state();
  RowVector f0(1);
  a.objective->value(x0, f0);
  auto refuse = [](std::string theorem, std::string why) {
    ExperimentBound out{std::move(theorem), {}};
    out.bound.reason = std::move(why);
    return out;
  };
  const std::string method(kind_name(e.method.kind));
  const PaperOneTheory theory = spec_of(e.method.kind).theory;
  const std::string theorem =
      theory == PaperOneTheory::kDsignsgd ? "Thm 4 (DSignSGD)" : "Thm 3 (DCSGD)";
  if (theory == PaperOneTheory::kNone)
    return refuse("none", "the papers give no bound for method.kind = " + method +
                              " (Thm 3 covers dsgd and dcsgd, Thm 4 dsignsgd)");
  if (e.method.schedule.kind != ScheduleKind::kConstant)
    return refuse(theorem, "the theorem assumes a constant learning rate; method.schedule = " +
                               std::string(kind_name(e.method.schedule.kind)));
  if (!k.f_star)
    return refuse(theorem, "f* of " + std::string(kind_name(e.objective.kind)) +
                               " is unknown, so f(X_0) - f* is");
  const NoiseModel& noise = *a.noise;
  if (noise.scale_rule() != NoiseModel::ScaleRule::kConstant)
    return refuse(theorem, "the theorem assumes a noise scale independent of x; noise.kind = " +
                               noise.name() + " is affine in ||grad f||");
  const double coordinate_mean_square =
      e.noise.coordinate_scale.empty()
          ? 1.0
          : Eigen::Map<const Vector>(e.noise.coordinate_scale.data(), e.objective.dim)
                    .squaredNorm() /
                static_cast<double>(e.objective.dim);
  const double gap = f0[0] - *k.f_star;
  if (theory == PaperOneTheory::kDsignsgd) {
    if (noise.family() == NoiseModel::Family::kNone)
      return refuse(theorem, "Thm 4 needs noise (Z ~ sigma t_nu, sigma > 0); noise.kind = none");
    if (!e.noise.coordinate_scale.empty() ||
        max_of(noise.sigma()) != *std::min_element(noise.sigma().begin(), noise.sigma().end()))
      return refuse(theorem,
                    "Thm 4 assumes Z ~ sigma t_nu(0, I_d) with one scale for every agent "
                    "and coordinate; noise.sigma or noise.coordinate_scale differ");
    DsignsgdBoundInputs in{
        .eta = e.method.lr,
        .L = k.L,
        .mu = k.mu,
        .d = e.objective.dim,
        .N = static_cast<double>(e.agents),
        .B = static_cast<double>(e.noise.batch),
        .sigma = noise.sigma()[0],
        .nu = noise.family() == NoiseModel::Family::kGaussian ? kGaussianNu : noise.nu(),
        .initial_gap = gap};
    return {theorem, dsignsgd_bound(in)};
  }
  double sigma2 = noise.family() == NoiseModel::Family::kNone
                      ? 0.0
                      : std::pow(max_of(noise.sigma()), 2) * coordinate_mean_square;
  if (noise.family() == NoiseModel::Family::kStudentT && noise.finite_variance())
    sigma2 *= noise.nu() / (noise.nu() - 2.0);
  DcsgdBoundInputs in{.eta = e.method.lr,
                      .L = k.L,
                      .mu = k.mu,
                      .d = e.objective.dim,
                      .N = static_cast<double>(e.agents),
                      .B = static_cast<double>(e.noise.batch),
                      .sigma2 = sigma2,
                      .omega = a.method->mean_omega(),  // poster Thm 3: omega_bar
                      .initial_gap = gap,
                      .finite_variance = noise.finite_variance()};
  return {theorem, dcsgd_bound(in)};
}

}  // namespace dcsde
