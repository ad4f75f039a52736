// Internal: the limits of an experiment beyond each key's own range: what the streams can tell
// apart (agents), what the machine can start (threads) and hold (memory), and what can name a
// folder (experiment.name). parse.cpp checks them after the ranges and before anything is built,
// so that a huge agents.count or run.replicas is an error naming its key, not std::bad_alloc.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dcsde/config/experiment.hpp"

namespace dcsde::detail {

// The random streams number agents in 24 bits of the counter (core/rng.hpp "Limits"): agent
// 2^24 + k would silently reuse agent k's draws.
inline constexpr Index kMaxAgents = Index{1} << 24;  // agents.count < kMaxAgents

// The most OpenMP threads run.threads may ask for: max(64, 8 x cores) (limits.cpp says why).
int max_threads();

// A limit an experiment exceeds: the keys that drive it, each with its value in the experiment
// (the first one given in the file locates the error), and the violated constraint.
struct LimitViolation {
  std::vector<std::pair<std::string, std::string>> keys;
  std::string constraint;
};

// One part of a run's memory: what it is, its size, and the keys it grows with.
struct MemoryPart {
  std::string what;
  double bytes = 0.0;
  std::vector<std::string> keys;
};

// The peak memory of running one point, as parts: the objects assemble() builds (kept for the
// whole run) plus the largest of three phases: building the objective, the optimizer's
// run_process, the SDE's run_process (they run one after the other). It counts what grows with
// d, R, N, the block size, the threads and the records (run/runner.cpp, method/method.hpp
// MethodWorkspace, sde/, noise/, objective/), not the few MB of the program itself. The
// objects of a torch network are not counted (their size is LibTorch's).
std::vector<MemoryPart> estimate_memory(const Experiment& e);

// The memory the system can give without swapping (MemAvailable of /proc/meminfo), in bytes;
// nullopt when it cannot be read (then the memory is not checked).
std::optional<double> available_memory();

// The first limit `e` exceeds, or nullopt: experiment.name, agents.count, run.threads, then the
// estimated memory against `available` (nullopt: not checked). `e` is within every key's range.
std::optional<LimitViolation> check_limits(const Experiment& e, std::optional<double> available);

}  // namespace dcsde::detail
