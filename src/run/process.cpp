#include "dcsde/run/process.hpp"

namespace dcsde {
namespace {

struct OptimizerWorkspace final : ProcessWorkspace {
  MethodWorkspace method;
};

}  // namespace

std::unique_ptr<ProcessWorkspace> OptimizerProcess::make_workspace(Index cols) const {
  auto ws = std::make_unique<OptimizerWorkspace>();
  ws->method.resize(method_.objective().dim(), cols, !method_.sparse_step());
  return ws;
}

void OptimizerProcess::step(BatchRef X, std::int64_t k, std::uint64_t seed,
                            std::uint64_t first_replica, ProcessWorkspace& workspace,
                            RowVectorRef step_sizes) const {
  method_.step(X, k, seed, first_replica, static_cast<OptimizerWorkspace&>(workspace).method,
               step_sizes);
}

}  // namespace dcsde
