// The optimizer over MPI ranks: agents spread over ranks, real compressed messages on the wire.
//
// Every rank holds the whole replica state and runs every replica (the Runner with one thread,
// blocks in order, so that all ranks make the same collective calls in the same order). Per step
// of a column block:
//   1. method.prepare                              (every rank: grad f, when the step needs it)
//   2. for each local agent i: g_i = method.agent_gradient, then compressor.encode per column with
//      the column's compression stream                          -> this rank's segment
//   3. gather every rank's segment (messages.hpp)                (the only communication)
//   4. decode every agent's messages, sum them in agent order 0..N-1 -> ws.direction
//   5. method.finish                                             (aggregate, step size, move X)
// Steps 1, 4 and 5 are the same on every rank, so the ranks keep identical states, and the sum of
// step 4 is the sum of Method::step: the run is bit-identical to the local backend for any number
// of ranks (tests/dist).
//
// ExchangeMode::kAllreduce, for the identity compressor only (DSGD): each rank sums its agents'
// gradients and one MPI_Allreduce adds the partial sums. Fewer bytes than gathering fp64
// messages, but the order of the additions changes with the number of ranks: the results equal
// the local backend's up to rounding (bit-identical on one rank only).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcsde/dist/messages.hpp"
#include "dcsde/dist/session.hpp"
#include "dcsde/method/method.hpp"
#include "dcsde/run/process.hpp"
#include "dcsde/run/runner.hpp"

namespace dcsde::dist {

enum class ExchangeMode { kGather, kAllreduce };
// "gather" | "allreduce"; throws ConfigError otherwise.
ExchangeMode parse_exchange(const std::string& name);
const char* to_string(ExchangeMode mode);

// Fault injection, a testing aid that is off unless the environment variable DCSDE_FAULT is set:
//   DCSDE_FAULT=kill:RANK:STEP     rank RANK kills itself (SIGKILL) at step STEP of the first block
//   DCSDE_FAULT=corrupt:RANK:STEP  rank RANK flips the format tag of its first message at that step
//   DCSDE_FAULT=fail:RANK:STEP     rank RANK alone fails at that step, before the exchange (the
//                                  others wait for it: the watchdog path of session.hpp)
struct FaultPlan {
  enum class Kind { kNone, kKill, kCorrupt, kFail };
  Kind kind = Kind::kNone;
  int rank = 0;
  std::int64_t step = 0;
};
// Parses the value of DCSDE_FAULT; an empty text is no fault. Throws ConfigError naming the
// expected forms.
FaultPlan parse_fault(const std::string& text);
FaultPlan fault_from_environment();

// What the exchange cost, measured on rank 0 (bytes: counted in the segments it received, which
// are every rank's; seconds: its own clock).
struct CommunicationStats {
  int ranks = 1;
  ExchangeMode exchange = ExchangeMode::kGather;
  std::vector<Index> agents_per_rank;
  std::uint64_t messages = 0;       // agent messages exchanged: agents x replica-steps
  std::uint64_t payload_bytes = 0;  // their bytes on the wire (compressor format; allreduce: fp64)
  std::uint64_t control_bytes = 0;  // segment tables and sizes
  std::uint64_t raw_messages = 0;   // non-finite gradient columns sent raw (messages.hpp)
  double comm_seconds = 0.0;        // inside collectives (includes waiting for slower ranks)
  double compute_seconds = 0.0;     // the rest of the steps: gradients, encode/decode, update
  double codec_seconds = 0.0;       // the encode + decode part of compute_seconds
  double comm_seconds_max = 0.0;    // the largest comm_seconds over ranks

  // Payload bytes one agent sends per step for one replica; equals the compressor's
  // message_bits / 8 for fixed-size formats.
  double bytes_per_agent_per_step() const;
  double control_bytes_per_agent_per_step() const;
  std::string brief() const;  // one line for the CLI's summary
};
// summary.json processes.optimizer.communication.
nlohmann::json to_json(const CommunicationStats& stats);

struct DistWorkspace;  // src/dist/process.cpp

class DistributedOptimizerProcess final : public Process {
 public:
  // The method, session and their objects must outlive the process. Throws ConfigError for an
  // invalid mode or fault plan.
  DistributedOptimizerProcess(const Method& method, const Session& session, ExchangeMode mode,
                              FaultPlan fault = {});

  std::string name() const override { return "optimizer"; }
  const Objective& objective() const override { return method_.objective(); }
  std::unique_ptr<ProcessWorkspace> make_workspace(Index cols) const override;
  // Collective: every rank must call it with the same (k, first_replica, cols) sequence. A
  // failure is recorded (failure()) and later steps do nothing, so that the exception does not
  // cross the Runner's OpenMP region; run_optimizer reports it at the agreement after the run.
  void step(BatchRef X, std::int64_t k, std::uint64_t seed, std::uint64_t first_replica,
            ProcessWorkspace& workspace, RowVectorRef step_sizes) const override;
  double bits_per_agent_per_step() const override { return method_.bits_per_agent_per_step(); }

  const std::string& failure() const { return failure_; }
  // This rank's counters (bytes as received, seconds on its clock).
  const CommunicationStats& stats() const { return stats_; }
  AgentPartition partition() const { return partition_; }

 private:
  // The exchange of one step up to the summed direction; return the seconds spent in
  // collectives.
  double gather_step(BatchRef X, const StepTag& where, std::uint64_t seed, DistWorkspace& ws) const;
  double allreduce_step(BatchRef X, const StepTag& where, std::uint64_t seed,
                        DistWorkspace& ws) const;

  const Method& method_;
  const Session& session_;
  ExchangeMode mode_;
  FaultPlan fault_;
  AgentPartition partition_;
  std::uint64_t fixed_slot_ = 0;  // bytes of every message for fixed-size formats, else 0
  // Mutable: step() is const (Process interface) but runs on one thread under MPI.
  mutable CommunicationStats stats_;
  mutable std::string failure_;
};

struct DistributedRun {
  ProcessSummary summary;
  CommunicationStats communication;
};

// Runs the method's optimizer over the session's ranks (collective): agreement on the setup,
// run_process with one thread, agreement on the outcome, statistics. `progress` is called on
// rank 0 only. Throws RanksStopped on every rank if any rank failed.
DistributedRun run_optimizer(Session& session, const Method& method, const Vector& x0,
                             RunOptions run, ExchangeMode mode,
                             const ProgressCallback& progress = {});

}  // namespace dcsde::dist
