// Limits of an experiment beyond each key's range (limits.hpp), and the memory estimate.
#include "limits.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "dcsde/run/checkpoint.hpp"
#include "dcsde/sde/law.hpp"
#include "schema.hpp"

namespace dcsde::detail {
namespace {

constexpr double kDouble = sizeof(double);
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
// run/runner.cpp: a Moments per record and block, a BlockState per block; per replica its tail
// sum, divergence step, alive flag and (empty) vector of held-out metrics.
constexpr double kMomentsBytes = 56.0;
constexpr double kBlockBytes = 96.0;
constexpr double kReplicaBytes = 8.0 + 8.0 + 1.0 + 24.0;
// experiment.name is the folder results/<name>, which also takes suffixes (.tmp-<pid>,
// .checkpoint): 200 bytes leave room within the usual 255-byte limit of a file name.
constexpr std::size_t kMaxNameBytes = 200;

bool plain_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > kMaxNameBytes) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == '/' || c == '\\' || u < 0x20 || u == 0x7f;
  });
}

// The sizes the estimate is made of, as doubles: R = 10^12 times d = 10^6 must not overflow.
struct Shape {
  double d, replicas, cols, blocks, live, records, agents;
  bool checkpointing;
};

Shape shape_of(const Experiment& e) {
  Shape s{};
  s.d = static_cast<double>(e.objective.dim);
  s.replicas = static_cast<double>(e.run.replicas);
  s.cols = static_cast<double>(std::min(e.run.block_size, e.run.replicas));
  s.blocks = std::ceil(s.replicas / static_cast<double>(e.run.block_size));
  // Each thread holds one block at a time (the blocks are released when done).
  const int threads = e.run.threads > 0 ? e.run.threads : omp_get_num_procs();
  s.live = std::min(static_cast<double>(threads), s.blocks);
  s.records = static_cast<double>((e.run.steps - 1) / e.run.record_every + 2);
  s.agents = static_cast<double>(e.agents);
  s.checkpointing = e.run.checkpoint_every > 0;
  return s;
}

// MethodWorkspace::resize(d, cols, messages) (method/method.cpp).
double method_workspace(double d, double cols, bool messages) {
  return (messages ? 4.0 : 2.0) * d * cols * kDouble + 24.0 * std::max(d, 2048.0) + 20.0 * d +
         cols * kDouble;
}

// The thread-local blocks of the objective (objective/kernels.hpp scratch) for `cols` columns.
double objective_scratch(const Experiment& e, double d, double cols, bool hvp) {
  if (e.objective.kind == ObjectiveKind::kQuadraticRotated) return d * cols * kDouble;
  if (e.objective.kind == ObjectiveKind::kLogistic)
    return (hvp ? 2.0 : 1.0) * static_cast<double>(e.objective.samples) * cols * kDouble;
  return 0.0;
}

// What run_process (run/runner.cpp) holds for one process whose block workspace takes
// `workspace` bytes (grown with `workspace_keys`).
std::vector<MemoryPart> runner_parts(const Shape& s, const std::string& process, double workspace,
                                     std::vector<std::string> workspace_keys) {
  std::vector<MemoryPart> parts;
  parts.push_back({process + " per-replica results", s.replicas * kReplicaBytes, {"run.replicas"}});
  parts.push_back({process + " record statistics",
                   s.blocks * (kBlockBytes + s.records * kMomentsBytes),
                   {"run.replicas", "method.steps", "run.record_every"}});
  // Every replica's loss at every record (RunnerState::losses, for exact quantiles), and the
  // summary's copy of one record's live losses.
  parts.push_back({process + " recorded losses",
                   s.replicas * (s.records + 1.0) * kDouble,
                   {"run.replicas", "method.steps", "run.record_every"}});
  if (s.checkpointing) {
    const double states = s.replicas * (s.d + 1.0) * kDouble;
    parts.push_back({process + " replica states (all kept for checkpoints)",
                     states,
                     {"run.replicas", "problem.dim", "run.checkpoint_every"}});
    // CheckpointWriter and CheckpointReader stream through one fixed buffer (run/checkpoint.hpp).
    parts.push_back({process + " checkpoint buffer",
                     static_cast<double>(kCheckpointBuffer),
                     {"run.checkpoint_every"}});
  } else {
    parts.push_back({process + " replica states",
                     s.live * s.cols * (s.d + 1.0) * kDouble,
                     {"problem.dim", "run.threads", "run.block_size"}});
  }
  // The gradient block G and four rows per block, and the process's workspace.
  parts.push_back({process + " workspaces", s.live * ((s.d + 4.0) * s.cols * kDouble + workspace),
                   std::move(workspace_keys)});
  return parts;
}

// The SDE's block workspace: sde/sde.cpp SdeWorkspace and its law's (sde/law.cpp,
// sde/monte_carlo_law.cpp), the law chosen as make_update_law chooses it.
std::vector<MemoryPart> sde_parts(const Experiment& e, const Shape& s) {
  const bool averaged = spec_of(e.method.kind).needs != CompressorNeed::kSigns;
  const std::vector<CompressorKind> kinds = e.compressor_kinds();
  const bool closed = has_closed_form_law(e.method.kind, kinds, e.noise.kind);
  const bool monte_carlo =
      e.sde->law.kind == LawKind::kMonteCarlo || (e.sde->law.kind == LawKind::kAuto && !closed);
  const bool hvp = spec_of(e.sde->model).drift_sign != 0;
  const double m = static_cast<double>(e.sde->law.samples);
  double workspace = 7.0 * s.d * s.cols * kDouble + 2.0 * s.cols * kDouble;
  if (monte_carlo) {
    workspace += m * s.cols * kDouble + 3.0 * s.d * m * kDouble + method_workspace(s.d, m, true) +
                 objective_scratch(e, s.d, std::max(m, s.cols), hvp);
    return runner_parts(s, "sde", workspace,
                        {"problem.dim", "sde.law_samples", "run.threads", "run.block_size"});
  }
  // ClosedFormLaw::noise_dim (sde/law.cpp): rand-k's law draws 2d normals.
  const double noise_dim =
      common_law(kinds) == CompressionLaw::kRandK && averaged ? 2.0 * s.d : s.d;
  workspace += noise_dim * s.cols * kDouble + 3.0 * s.d * s.cols * kDouble +
               (4.0 * s.d + s.agents + 1.0) * kDouble + objective_scratch(e, s.d, s.cols, hvp);
  return runner_parts(s, "sde", workspace, {"problem.dim", "run.threads", "run.block_size"});
}

double total(const std::vector<MemoryPart>& parts) {
  double sum = 0.0;
  for (const MemoryPart& part : parts) sum += part.bytes;
  return sum;
}

std::string gib(double bytes) {
  const double v = bytes / kGiB;
  return v >= 100.0 ? fmt::format("{:.0f} GiB", v)
         : v >= 1.0 ? fmt::format("{:.1f} GiB", v)
                    : fmt::format("{:.2g} GiB", v);
}

std::string value_of(const Experiment& e, const std::string& key) {
  const std::map<std::string, std::int64_t> values = {
      {"problem.dim", e.objective.dim},
      {"problem.samples", e.objective.samples},
      {"agents.count", e.agents},
      {"run.replicas", e.run.replicas},
      {"run.threads", e.run.threads},
      {"run.block_size", e.run.block_size},
      {"run.record_every", e.run.record_every},
      {"run.checkpoint_every", e.run.checkpoint_every},
      {"method.steps", e.method.steps},
      {"sde.law_samples", e.sde ? e.sde->law.samples : 0},
  };
  const auto it = values.find(key);
  return it != values.end() ? std::to_string(it->second) : "";
}

// The estimate against the available memory: names the biggest parts and the keys they grow with.
std::optional<LimitViolation> check_memory(const Experiment& e, double available) {
  std::vector<MemoryPart> parts = estimate_memory(e);
  const double needed = total(parts);
  if (needed <= available) return std::nullopt;
  std::sort(parts.begin(), parts.end(),
            [](const MemoryPart& a, const MemoryPart& b) { return a.bytes > b.bytes; });
  LimitViolation v;
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < parts.size() && i < 3; ++i) {
    if (i > 0 && parts[i].bytes < 0.1 * needed) break;
    shown.push_back(parts[i].what + " " + gib(parts[i].bytes) + " (" + join(parts[i].keys, ", ") +
                    ")");
    for (const std::string& key : parts[i].keys)
      if (std::none_of(v.keys.begin(), v.keys.end(), [&](const auto& k) { return k.first == key; }))
        v.keys.push_back({key, value_of(e, key)});
  }
  v.constraint = "estimated peak memory <= available memory (here " + gib(needed) + " > " +
                 gib(available) +
                 ", MemAvailable in /proc/meminfo or the cgroup's memory.max); most of it: " +
                 join(shown, "; ");
  return v;
}

}  // namespace

int max_threads() {
  // A run's threads share its replica blocks, which are compute-bound: beyond a few threads per
  // core more only add stacks and scheduling. 8 per core (and 64 on any machine, to check on a
  // laptop that the numbers do not depend on the thread count) stays far below where libgomp
  // fails to create threads (~40000: "Thread creation failed"; 100000: a crash inside libgomp).
  return std::max(64, 8 * omp_get_num_procs());
}

std::vector<MemoryPart> estimate_memory(const Experiment& e) {
  const Shape s = shape_of(e);
  const ObjectiveKind objective = e.objective.kind;
  const double n = static_cast<double>(e.objective.samples);
  // Built once by assemble() and kept for the whole run: the objective's data, the initial
  // state, and the noise model's per-agent scales (noise/noise_model.cpp).
  std::vector<MemoryPart> kept = {
      {"objective", 3.0 * s.d * kDouble, {"problem.dim"}},
      {"noise model", (3.0 * s.agents + s.d) * kDouble, {"agents.count"}},
  };
  std::vector<MemoryPart> build;  // transients of the objective's constructor
  if (objective == ObjectiveKind::kQuadraticRotated) {
    // Q and H kept; the Gaussian matrix, its QR and a product's temporary while building.
    kept[0] = {
        "objective (d x d rotation and Hessian)", 2.0 * s.d * s.d * kDouble, {"problem.dim"}};
    build.push_back({"building the rotation (d x d)", 3.0 * s.d * s.d * kDouble, {"problem.dim"}});
  } else if (objective == ObjectiveKind::kLogistic) {
    kept[0] = {"objective (samples x d data, twice)",
               (2.0 * n * s.d + n + s.d) * kDouble,
               {"problem.samples", "problem.dim"}};
    build.push_back(
        {"building the data's d x d Gram matrix", 2.0 * s.d * s.d * kDouble, {"problem.dim"}});
  }
  // Method::sparse_step (method/method.cpp): no message buffers.
  const std::vector<CompressorKind> kinds = e.compressor_kinds();
  const bool sparse =
      std::all_of(kinds.begin(), kinds.end(), [](CompressorKind k) { return spec_of(k).sparse; }) &&
      spec_of(e.noise.kind).family != NoiseFamily::kMinibatch;
  std::vector<MemoryPart> optimizer = runner_parts(
      s, "optimizer",
      method_workspace(s.d, s.cols, !sparse) + objective_scratch(e, s.d, s.cols, false),
      {"problem.dim", "run.threads", "run.block_size"});
  std::vector<MemoryPart> sde = e.sde ? sde_parts(e, s) : std::vector<MemoryPart>{};
  // The phases run one after the other: the largest one adds to what is kept.
  std::vector<MemoryPart>* phase = &optimizer;
  if (total(sde) > total(*phase)) phase = &sde;
  if (total(build) > total(*phase)) phase = &build;
  kept.insert(kept.end(), phase->begin(), phase->end());
  return kept;
}

std::optional<double> available_memory() {
  std::optional<double> available;
  std::ifstream in("/proc/meminfo");
  std::string name, rest;
  double kib = 0.0;
  while (in >> name >> kib) {
    if (name == "MemAvailable:") available = kib * 1024.0;
    std::getline(in, rest);
  }
  // In a container the cgroup's limit (cgroup v2 memory.max, minus what it uses) may be lower.
  std::ifstream max_file("/sys/fs/cgroup/memory.max"),
      current_file("/sys/fs/cgroup/memory.current");
  double max_bytes = 0.0, current_bytes = 0.0;
  if (max_file >> max_bytes && current_file >> current_bytes && max_bytes > current_bytes)
    available = std::min(available.value_or(max_bytes - current_bytes), max_bytes - current_bytes);
  return available;
}

std::optional<LimitViolation> check_limits(const Experiment& e, std::optional<double> available) {
  if (!plain_name(e.name))
    return LimitViolation{{{"experiment.name", "\"" + clip(e.name) + "\""}},
                          "a plain name for the folder results/<name>: not empty, not '.' or "
                          "'..', no '/', '\\' or control characters, at most " +
                              std::to_string(kMaxNameBytes) + " bytes"};
  if (e.agents >= kMaxAgents)
    return LimitViolation{{{"agents.count", std::to_string(e.agents)}},
                          "count < 2^24 = 16777216: the random streams number agents in 24 bits "
                          "(core/rng.hpp), agent 2^24 + k would reuse the draws of agent k"};
  if (e.run.threads > max_threads())
    return LimitViolation{
        {{"run.threads", std::to_string(e.run.threads)}},
        fmt::format("threads <= {} = max(64, 8 x {} cores): more threads than that add stacks, "
                    "not speed (0 = one per core)",
                    max_threads(), omp_get_num_procs())};
  if (available) return check_memory(e, *available);
  return std::nullopt;
}

}  // namespace dcsde::detail
