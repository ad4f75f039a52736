// Shared by the method tests: a random block of states, and one step taken phase by phase as a
// transport takes it (prepare, agent_message summed in agent order, finish; method/method.hpp),
// the reference Method::step must equal bit for bit.
#pragma once
#include <cstdint>

#include "dcsde/core/rng.hpp"
#include "dcsde/method/method.hpp"

namespace dcsde::testing_support {

inline Batch random_block(Index rows, Index cols, std::uint64_t seed) {
  Batch X(rows, cols);
  Philox init(seed, 0, 0, Purpose::kTest, 0);
  init.normals(X.data(), X.size());
  return X;
}

inline void step_by_phases(const Method& method, Batch& X, std::int64_t k, std::uint64_t seed,
                           std::uint64_t first_replica, MethodWorkspace& ws,
                           RowVector& step_sizes) {
  method.prepare(X, ws);
  Batch direction = Batch::Zero(X.rows(), X.cols());
  for (Index i = 0; i < method.agents(); ++i)
    direction += method.agent_message(i, X, k, seed, first_replica, ws);
  ws.direction = direction;
  method.finish(X, k, ws, step_sizes);
}

// `steps` steps of the block X0 taken by Method::step and, from the same start, phase by phase;
// the tests require both states and step sizes to agree bit for bit.
struct FusedAndPhases {
  Batch fused, phases;
  RowVector fused_steps, phase_steps;
};

inline FusedAndPhases fused_and_phases(const Method& method, const Batch& X0, std::int64_t steps,
                                       std::uint64_t seed, std::uint64_t first_replica) {
  FusedAndPhases r{X0, X0, RowVector(X0.cols()), RowVector(X0.cols())};
  MethodWorkspace fused, phases;
  fused.resize(X0.rows(), X0.cols(), !method.sparse_step());
  phases.resize(X0.rows(), X0.cols());
  for (std::int64_t k = 0; k < steps; ++k) {
    method.step(r.fused, k, seed, first_replica, fused, r.fused_steps);
    step_by_phases(method, r.phases, k, seed, first_replica, phases, r.phase_steps);
  }
  return r;
}

}  // namespace dcsde::testing_support
