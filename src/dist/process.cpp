#include "dcsde/dist/process.hpp"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace dcsde::dist {

struct DistWorkspace final : ProcessWorkspace {
  MethodWorkspace method;
  Batch scratch;                      // one agent's decoded messages, d x cols
  std::vector<std::uint8_t> segment;  // this rank's messages
  std::vector<std::uint8_t> all;      // every rank's, in rank order
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint8_t> overflow, overflow_all;  // raw messages (messages.hpp)
  std::vector<std::uint64_t> overflow_offsets, sizes;
};

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// FNV-1a over what must be equal on every rank for the collectives to line up and the states to
// stay identical: a host that read another file or runs another build is caught before the run.
class Fingerprint {
 public:
  template <class T>
  void add(const T& value) {
    add_bytes(&value, sizeof value);
  }
  void add(const std::string& s) { add_bytes(s.data(), s.size()); }
  void add_bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) hash_ = (hash_ ^ p[i]) * 0x100000001b3ULL;
  }
  std::uint64_t value() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

std::uint64_t fingerprint(const Method& method, const Vector& x0, const RunOptions& run,
                          ExchangeMode mode) {
  Fingerprint f;
  f.add(method.objective().dim());
  f.add(method.objective().name());
  f.add(method.agents());
  f.add(method.options().kind);
  f.add(method.options().lr);
  for (const Compressor* c : method.compressors()) f.add(c->name());
  f.add(method.bits_per_agent_per_step());
  f.add(run.replicas);
  f.add(run.steps);
  f.add(run.record_every);
  f.add(run.seed);
  f.add(run.block_size);
  f.add(static_cast<int>(mode));
  f.add_bytes(x0.data(), static_cast<std::size_t>(x0.size()) * sizeof(double));
  return f.value();
}

bool fault_here(const FaultPlan& fault, FaultPlan::Kind kind, int rank, const StepTag& where) {
  // The first block only, so that a fault fires once.
  return fault.kind == kind && fault.rank == rank && fault.step == where.step &&
         where.first_replica == 0;
}

}  // namespace

DistributedOptimizerProcess::DistributedOptimizerProcess(const Method& method,
                                                         const Session& session, ExchangeMode mode,
                                                         FaultPlan fault)
    : method_(method),
      session_(session),
      mode_(mode),
      fault_(fault),
      partition_{method.agents(), session.size()} {
  if (mode_ == ExchangeMode::kAllreduce && method_.compresses()) {
    throw ConfigError(
        "--exchange allreduce adds uncompressed gradients; it needs "
        "compressor.kind = 'identity' (got '" +
        method_.compressor().name() +
        "'). Compressed messages are gathered and decoded: use --exchange gather.");
  }
  if (fault_.kind != FaultPlan::Kind::kNone) {
    if (fault_.rank >= session_.size()) {
      throw ConfigError(fmt::format("DCSDE_FAULT names rank {}, but the run has {} ranks",
                                    fault_.rank, session_.size()));
    }
    if (fault_.kind == FaultPlan::Kind::kCorrupt &&
        (mode_ != ExchangeMode::kGather || partition_.count(fault_.rank) == 0)) {
      throw ConfigError(fmt::format(
          "DCSDE_FAULT=corrupt needs --exchange gather and a rank that owns agents (rank {} "
          "owns {})",
          fault_.rank, partition_.count(fault_.rank)));
    }
  }
  // One slot size serves a segment whose agents share a fixed-size format.
  if (method_.uniform_compressors() && method_.compressor().fixed_size()) {
    fixed_slot_ = static_cast<std::uint64_t>(
        (method_.compressor().message_bits(method_.objective().dim()) + 7.0) / 8.0);
  }
  stats_.ranks = session_.size();
  stats_.exchange = mode_;
  for (int r = 0; r < session_.size(); ++r) stats_.agents_per_rank.push_back(partition_.count(r));
}

std::unique_ptr<ProcessWorkspace> DistributedOptimizerProcess::make_workspace(Index cols) const {
  auto ws = std::make_unique<DistWorkspace>();
  const Index d = method_.objective().dim();
  ws->method.resize(d, cols);
  ws->scratch.resize(d, cols);
  return ws;
}

void DistributedOptimizerProcess::step(BatchRef X, std::int64_t k, std::uint64_t seed,
                                       std::uint64_t first_replica, ProcessWorkspace& workspace,
                                       RowVectorRef step_sizes) const {
  if (!failure_.empty()) {  // stopped: every rank stopped at the same step (see failure())
    step_sizes.setZero();
    return;
  }
  const StepTag where{k, first_replica, X.cols()};
  session_.set_position(where);
  if (fault_here(fault_, FaultPlan::Kind::kKill, session_.rank(), where)) {
    std::fprintf(stderr, "dcsde: DCSDE_FAULT: killing %s at %s\n", session_.name().c_str(),
                 where.describe().c_str());
    std::fflush(stderr);
    std::raise(SIGKILL);
  }
  auto& ws = static_cast<DistWorkspace&>(workspace);
  try {
    if (fault_here(fault_, FaultPlan::Kind::kFail, session_.rank(), where))
      throw DistError(where.describe() + ": DCSDE_FAULT: injected failure on this rank only");
    const auto start = Clock::now();
    const double comm = mode_ == ExchangeMode::kGather ? gather_step(X, where, seed, ws)
                                                       : allreduce_step(X, where, seed, ws);
    method_.finish(X, k, ws.method, step_sizes);
    stats_.comm_seconds += comm;
    stats_.compute_seconds += seconds(start, Clock::now()) - comm;
  } catch (const std::exception& e) {
    failure_ = dynamic_cast<const DistError*>(&e) != nullptr ? std::string(e.what())
                                                             : where.describe() + ": " + e.what();
    // If some rank did not fail here, it waits in the next exchange and never reaches the
    // agreement after the run: end this rank after a while so that mpirun ends the job.
    session_.arm_watchdog(failure_);
    step_sizes.setZero();
  }
}

double DistributedOptimizerProcess::gather_step(BatchRef X, const StepTag& where,
                                                std::uint64_t seed, DistWorkspace& ws) const {
  const int rank = session_.rank();
  const Index cols = X.cols();
  method_.prepare(X, ws.method);
  double encode_seconds = 0.0;
  {
    SegmentWriter writer(ws.segment, ws.overflow, partition_.count(rank) * cols, fixed_slot_);
    for (Index a = partition_.begin(rank); a < partition_.end(rank); ++a) {
      const Batch& g =
          method_.agent_gradient(a, X, where.step, seed, where.first_replica, ws.method);
      const auto te = Clock::now();
      const DrawContext ctx = Method::draw_context(a, where.step, seed, where.first_replica);
      const Compressor& compressor = method_.compressor_of(a);
      for (Index c = 0; c < cols; ++c) writer.add(compressor, g.col(c), ctx, c);
      encode_seconds += seconds(te, Clock::now());
    }
  }
  if (fault_here(fault_, FaultPlan::Kind::kCorrupt, rank, where)) {
    // The first message's first byte is its format tag (wire.hpp): every decoder rejects it.
    ws.segment[static_cast<std::size_t>(partition_.count(rank) * cols) * 8] ^= 0xFF;
  }
  const auto t1 = Clock::now();
  std::uint64_t control = 0;
  if (fixed_slot_ > 0) {
    // Every segment's length is known: one collective, no round for the sizes.
    ws.sizes.resize(static_cast<std::size_t>(session_.size()));
    for (int r = 0; r < session_.size(); ++r)
      ws.sizes[static_cast<std::size_t>(r)] = fixed_segment_bytes(partition_, r, cols, fixed_slot_);
    allgather_known(session_, ws.segment, ws.sizes, ws.all, ws.offsets);
  } else {
    allgather_segments(session_, ws.segment, ws.all, ws.offsets);
    control += 8 * static_cast<std::uint64_t>(session_.size());
  }
  // Every rank reads the same tables, so all agree on whether the overflow round happens.
  if (count_raw_messages(ws.all, ws.offsets, partition_, cols) > 0) {
    allgather_segments(session_, ws.overflow, ws.overflow_all, ws.overflow_offsets);
    control += 8 * static_cast<std::uint64_t>(session_.size());
  } else {
    ws.overflow_all.clear();
    ws.overflow_offsets.assign(ws.offsets.size(), 0);
  }
  const auto t2 = Clock::now();
  const SegmentTotals totals = decode_and_sum(
      method_.compressors(), {ws.all, ws.offsets, ws.overflow_all, ws.overflow_offsets}, partition_,
      where, ws.scratch, ws.method.direction);
  const auto t3 = Clock::now();
  stats_.messages += totals.messages;
  stats_.payload_bytes += totals.payload_bytes;
  stats_.control_bytes += totals.control_bytes + control;
  stats_.raw_messages += totals.raw_messages;
  stats_.codec_seconds += encode_seconds + seconds(t2, t3);
  return seconds(t1, t2);
}

double DistributedOptimizerProcess::allreduce_step(BatchRef X, const StepTag& where,
                                                   std::uint64_t seed, DistWorkspace& ws) const {
  const int rank = session_.rank();
  method_.prepare(X, ws.method);
  Batch& direction = ws.method.direction;
  direction.setZero();
  for (Index a = partition_.begin(rank); a < partition_.end(rank); ++a)
    direction += method_.agent_gradient(a, X, where.step, seed, where.first_replica, ws.method);
  const auto t1 = Clock::now();
  allreduce_sum(session_,
                std::span<double>(direction.data(), static_cast<std::size_t>(direction.size())));
  const auto t2 = Clock::now();
  stats_.messages += static_cast<std::uint64_t>(method_.agents() * X.cols());
  stats_.payload_bytes += static_cast<std::uint64_t>(direction.size()) * sizeof(double) *
                          static_cast<std::uint64_t>(session_.size());
  return seconds(t1, t2);
}

DistributedRun run_optimizer(Session& session, const Method& method, const Vector& x0,
                             RunOptions run, ExchangeMode mode, const ProgressCallback& progress) {
  std::unique_ptr<DistributedOptimizerProcess> process;
  std::string failure;
  try {
    const FaultPlan fault = fault_from_environment();
    if (fault.kind != FaultPlan::Kind::kNone && fault.step >= run.steps) {
      throw ConfigError(fmt::format("DCSDE_FAULT names step {}, but the run has {} steps (0..{})",
                                    fault.step, run.steps, run.steps - 1));
    }
    process = std::make_unique<DistributedOptimizerProcess>(method, session, mode, fault);
  } catch (const Error& e) {
    failure = e.what();
  }
  session.agree(failure, fingerprint(method, x0, run, mode));

  // One thread: blocks run one after the other, so that every rank issues the same collectives
  // in the same order. The numbers do not depend on the thread count (runner.hpp).
  run.threads = 1;
  DistributedRun result;
  result.summary =
      run_process(*process, x0, run, session.rank() == 0 ? progress : ProgressCallback{});
  const auto t0 = Clock::now();
  session.agree(process->failure(), 0);
  session.set_position(StepTag{-1, 0, 0});
  result.communication = process->stats();
  // Time the agreement waited for slower ranks is communication too.
  result.communication.comm_seconds += seconds(t0, Clock::now());
  result.communication.comm_seconds_max = session.max_over_ranks(result.communication.comm_seconds);
  return result;
}

}  // namespace dcsde::dist
