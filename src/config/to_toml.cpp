// Experiment -> resolved TOML (config.toml of a result): every key, given or default.
#include <toml++/toml.h>

#include <sstream>

#include "dcsde/config/experiment.hpp"

namespace dcsde {
namespace {

toml::array to_array(const std::vector<double>& v) {
  toml::array a;
  for (double x : v) a.push_back(x);
  return a;
}

// A kind's name as a TOML string.
template <class Kind>
std::string name_of(Kind kind) {
  return std::string(kind_name(kind));
}

// [compressor]: each key the agents' kinds read, one value, or one per agent when each agent has
// its own compressor (an agent whose kind does not read a key shows its unused value).
toml::table compressor_table(const Experiment& e) {
  const auto agents = e.uniform_compressors() ? Index{1} : e.agents;
  unsigned keys = 0;
  for (Index i = 0; i < agents; ++i) keys |= spec_of(e.compressor_of(i).kind).keys;
  toml::table t;
  auto insert = [&](const char* key, auto read) {
    if (agents == 1) {
      t.insert(key, read(e.compressor));
      return;
    }
    toml::array values;
    for (Index i = 0; i < agents; ++i) values.push_back(read(e.compressor_of(i)));
    t.insert(key, values);
  };
  insert("kind", [](const CompressorOptions& c) { return name_of(c.kind); });
  if (keys & kCompressorK)
    insert("k", [](const CompressorOptions& c) { return static_cast<std::int64_t>(c.k); });
  if (keys & kCompressorP) insert("p", [](const CompressorOptions& c) { return c.p; });
  if (keys & kCompressorLevels)
    insert("levels",
           [](const CompressorOptions& c) { return static_cast<std::int64_t>(c.levels); });
  return t;
}

// [problem]: the objective's own keys, as its spec says.
toml::table problem_table(const Experiment& e) {
  const unsigned objective_keys = spec_of(e.objective.kind).keys;
  toml::table problem{{"objective", name_of(e.objective.kind)},
                      {"seed", static_cast<std::int64_t>(e.objective.seed)}};
  if (objective_keys & kObjectiveNetwork) {
    // The dimension and the initial state follow from the network and the seed.
    const NetworkOptions& n = e.objective.network;
    problem.insert("model", n.model);
    problem.insert("dataset", n.dataset);
    if (!n.data_path.empty()) problem.insert("data_path", n.data_path);
    for (const auto& [key, value] : {std::pair{"width", n.width},
                                     {"depth", n.depth},
                                     {"heads", n.heads},
                                     {"patch", n.patch},
                                     {"context", n.context},
                                     {"full_batch", n.full_batch},
                                     {"test_examples", n.test_examples}})
      problem.insert(key, static_cast<std::int64_t>(value));
    problem.insert("precision", n.precision);
  } else {
    problem.insert("dim", static_cast<std::int64_t>(e.objective.dim));
    problem.insert("x0", to_array(e.x0));
  }
  if (objective_keys & kObjectiveSpectrum) {
    if (!e.objective.eigenvalues.empty()) {
      problem.insert("eigenvalues", to_array(e.objective.eigenvalues));
    } else {
      problem.insert("eigen_min", e.objective.eigen_min);
      problem.insert("eigen_max", e.objective.eigen_max);
    }
  }
  if (objective_keys & kObjectiveData) {
    problem.insert("samples", static_cast<std::int64_t>(e.objective.samples));
    problem.insert("l2", e.objective.l2);
  }
  return problem;
}

}  // namespace

std::string to_toml(const Experiment& e) {
  const toml::table problem = problem_table(e);
  // Each kind's own keys, as its spec says (core/kind.hpp).
  const NoiseSpec& noise_spec = spec_of(e.noise.kind);
  const bool injected =
      noise_spec.family == NoiseFamily::kGaussian || noise_spec.family == NoiseFamily::kStudentT;
  toml::table noise{{"kind", name_of(e.noise.kind)},
                    {"batch", static_cast<std::int64_t>(e.noise.batch)}};
  if (injected && noise_spec.rule == NoiseScaleRule::kConstant)
    noise.insert("sigma", to_array(e.noise.sigma));
  if (noise_spec.rule != NoiseScaleRule::kConstant) {
    noise.insert("sigma0", to_array(e.noise.sigma0));
    noise.insert("sigma1", to_array(e.noise.sigma1));
  }
  if (noise_spec.family == NoiseFamily::kStudentT) noise.insert("nu", e.noise.nu);
  if (!e.noise.coordinate_scale.empty())
    noise.insert("coordinate_scale", to_array(e.noise.coordinate_scale));

  const toml::table compressor = compressor_table(e);

  const MethodSpec& method_spec = spec_of(e.method.kind);
  toml::table method{{"kind", name_of(e.method.kind)},
                     {"steps", e.method.steps},
                     {"schedule", name_of(e.method.schedule.kind)}};
  if (method_spec.reads_lr) method.insert("lr", e.method.lr);
  if (spec_of(e.method.schedule.kind).reads_points) {
    toml::array points;
    for (const auto& [step, value] : e.method.schedule.points)
      points.push_back(toml::array{step, value});
    method.insert("schedule_points", points);
  }
  if (method_spec.rule == StepRule::kEq15) {
    method.insert("eps", e.method.eps);
    method.insert("norm_of", name_of(e.method.norm_of));
    if (e.method.L0) method.insert("L0", *e.method.L0);
    if (e.method.L1) method.insert("L1", *e.method.L1);
    if (e.method.sigma0) method.insert("sigma0", *e.method.sigma0);
    if (e.method.sigma1) method.insert("sigma1", *e.method.sigma1);
  }
  if (e.method.allow_biased) method.insert("allow_biased", true);
  if (e.method.sign_draw != SignDraw::kNoise)
    method.insert("sign_draw", name_of(e.method.sign_draw));

  toml::table root{
      {"experiment", toml::table{{"name", e.name}, {"description", e.description}}},
      {"problem", problem},
      {"noise", noise},
      {"agents", toml::table{{"count", static_cast<std::int64_t>(e.agents)}}},
      {"compressor", compressor},
      {"method", method},
      {"run", toml::table{{"replicas", static_cast<std::int64_t>(e.run.replicas)},
                          {"seed", static_cast<std::int64_t>(e.run.seed)},
                          {"record_every", e.run.record_every},
                          {"threads", static_cast<std::int64_t>(e.run.threads)},
                          {"block_size", static_cast<std::int64_t>(e.run.block_size)},
                          {"checkpoint_every", e.run.checkpoint_every}}},
      {"output", toml::table{{"plot", e.plot}, {"statistic", name_of(e.statistic)}}},
  };
  if (e.sde) {
    root.insert("sde", toml::table{{"model", name_of(e.sde->model)},
                                   {"integrator", name_of(e.sde->integrator)},
                                   {"substeps", static_cast<std::int64_t>(e.sde->substeps)},
                                   {"law", name_of(e.sde->law.kind)},
                                   {"law_samples", static_cast<std::int64_t>(e.sde->law.samples)}});
  }
  std::ostringstream os;
  os << root << "\n";
  return os.str();
}

}  // namespace dcsde
