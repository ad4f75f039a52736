// The MPI side of a distributed run: the process's MPI lifetime, the rank agreement that makes
// every error end every rank, and the collectives that move a step's messages. Only src/dist
// includes mpi.h; this header does not.
//
// Failure protocol (docs/distributed.md "Faults"):
// * Ranks meet at *agreement points*: before each optimizer run, after it, and once after the
//   last run (finish_exchanges). Each rank brings "ok" or its error; if any rank failed, every
//   rank stops there, the lowest failing rank prints its error (without a rank prefix when all
//   ranks failed alike, e.g. a malformed message that every rank decoded), and all exit with
//   status 2 after a normal MPI_Finalize.
// * Inside a run, a step that fails (a malformed message) records the error and stops
//   exchanging; every rank decodes the same bytes, so all stop at the same step and meet at the
//   agreement after the run. A rank whose peers do not arrive within watchdog_seconds() (a failure
//   only some ranks saw) prints its error and exits; mpirun then ends the others.
// * A rank that dies (killed, crashed) is detected by mpirun, which terminates the others with
//   SIGTERM; each survivor prints the step and replica block it was exchanging, and mpirun names
//   the dead rank. No rank waits forever.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dcsde/dist/messages.hpp"

namespace dcsde::dist {

// Seconds a failed rank waits for its peers to reach the next agreement before exiting alone.
inline constexpr double kWatchdogSeconds = 5.0;
// kWatchdogSeconds, or the environment's DCSDE_WATCHDOG_SECONDS when it holds a number in
// (0, 3600] (a testing aid, like DCSDE_FAULT: tests/dist shortens the wait).
double watchdog_seconds();

// Thrown on every rank when the ranks agreed to stop. report() says whether this rank prints
// what(): exactly one rank does.
class RanksStopped : public DistError {
 public:
  RanksStopped(const std::string& message, bool report) : DistError(message), report_(report) {}
  bool report() const { return report_; }

 private:
  bool report_;
};

// MPI for the lifetime of the object: MPI_Init_thread (funneled: only the main thread calls
// MPI) on construction, MPI_Finalize on destruction. One per process. Works as a one-rank
// singleton when the program was not started by mpirun.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  std::string name() const;  // "rank 2 of 4"

  // Agreement point (collective): this rank's error (empty: ok) and a fingerprint of what it is
  // about to run. Throws RanksStopped if any rank failed or the fingerprints differ.
  void agree(const std::string& failure, std::uint64_t fingerprint);
  // The agreement after the last exchange; after it no rank waits for another, so an error on
  // one rank (rank 0 writing results) ends that rank alone.
  void finish_exchanges();
  bool exchanging() const { return exchanging_; }

  // The largest value over ranks (collective).
  double max_over_ranks(double value) const;

  // Records the step this rank is in, for the message printed if mpirun terminates it
  // (async-signal-safe storage); step < 0 clears it.
  void set_position(const StepTag& where) const;
  // After `seconds`, prints "dcsde: error: <rank>: <message>" and exits with status 2 unless the
  // process has ended; for a failed rank whose peers may never reach the next agreement.
  void arm_watchdog(const std::string& message, double seconds = watchdog_seconds()) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  bool exchanging_ = true;
};

// Runs `body` on every rank inside a Session and applies the failure protocol to what it
// throws: before finish_exchanges, an error joins the agreement (so every rank stops); after it,
// the error is this rank's alone. Prints errors as "dcsde: error: ..." and returns the exit
// status (0, or 2 on error).
int run_on_ranks(const std::function<int(Session&)>& body);

// The collectives of a step.
// Gathers every rank's segment into `all`, in rank order, rank r's at [offsets[r], offsets[r+1]).
// Two collectives: the segment sizes (MPI_Allgather, one uint64 per rank), then the bytes
// (MPI_Allgatherv; one chunked MPI_Bcast per rank when a count exceeds what an int can hold).
void allgather_segments(const Session& session, std::span<const std::uint8_t> local,
                        std::vector<std::uint8_t>& all, std::vector<std::uint64_t>& offsets);
// The same when every rank already knows every segment's size (sizes[r], one per rank): one
// collective.
void allgather_known(const Session& session, std::span<const std::uint8_t> local,
                     std::span<const std::uint64_t> sizes, std::vector<std::uint8_t>& all,
                     std::vector<std::uint64_t>& offsets);
// values = sum over ranks of values (MPI_Allreduce, MPI_SUM, in chunks of at most INT_MAX). The
// order in which Open MPI adds the ranks' values is its own: equal to a sequential sum up to
// rounding only.
void allreduce_sum(const Session& session, std::span<double> values);
void allreduce_sum(const Session& session, std::span<float> values);
// Wall time (MPI_Wtime) and a barrier, for the benchmark.
double wall_time();
void barrier(const Session& session);

}  // namespace dcsde::dist
