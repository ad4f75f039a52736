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

}  // namespace dcsde::testing_support
