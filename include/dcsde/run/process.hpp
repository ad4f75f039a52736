// Process: anything the Runner can advance step by step on a block of replicas: the optimizer
// (a Method) today, the SDE of the method (sde/) next. The Runner owns the loop, the replicas,
// threads, freezing and recording; a Process only knows how to take one step [odeint: stepper
// vs integrate driver].
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dcsde/core/types.hpp"
#include "dcsde/method/method.hpp"
#include "dcsde/objective/objective.hpp"

namespace dcsde {

// Per-block scratch of a process, created once per block and reused every step.
struct ProcessWorkspace {
  virtual ~ProcessWorkspace() = default;
};

class Process {
 public:
  virtual ~Process() = default;
  virtual std::string name() const = 0;  // "optimizer", "sde"
  virtual const Objective& objective() const = 0;
  virtual std::unique_ptr<ProcessWorkspace> make_workspace(Index cols) const = 0;
  // Advances X (d x cols; column c is replica first_replica + c) from step k to k + 1 and
  // writes the step size (time increment) of each column into `step_sizes`.
  virtual void step(BatchRef X, std::int64_t k, std::uint64_t seed, std::uint64_t first_replica,
                    ProcessWorkspace& workspace, RowVectorRef step_sizes) const = 0;
  // Bits one agent sends per step (0 for processes that send nothing).
  virtual double bits_per_agent_per_step() const { return 0.0; }
};

// The optimizer as a Process: Method::step on the block.
class OptimizerProcess final : public Process {
 public:
  explicit OptimizerProcess(const Method& method) : method_(method) {}
  std::string name() const override { return "optimizer"; }
  const Objective& objective() const override { return method_.objective(); }
  std::unique_ptr<ProcessWorkspace> make_workspace(Index cols) const override;
  void step(BatchRef X, std::int64_t k, std::uint64_t seed, std::uint64_t first_replica,
            ProcessWorkspace& workspace, RowVectorRef step_sizes) const override;
  double bits_per_agent_per_step() const override { return method_.bits_per_agent_per_step(); }

 private:
  const Method& method_;
};

}  // namespace dcsde
