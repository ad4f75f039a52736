#include "dcsde/dist/session.hpp"

#include <fmt/format.h>
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "dcsde/run/interrupt.hpp"

namespace dcsde::dist {
namespace {

// State read by the SIGTERM handler: plain atomics (lock-free) and a fixed buffer, because a
// signal handler may only touch async-signal-safe storage.
std::atomic<std::int64_t> g_step{-1};
std::atomic<std::uint64_t> g_first_replica{0};
std::atomic<std::int64_t> g_cols{0};
char g_rank_name[64] = "rank ?";
Session* g_session = nullptr;
struct sigaction g_previous_sigterm {};

static_assert(std::atomic<std::int64_t>::is_always_lock_free, "signal handler needs lock-free");

// Appends the decimal digits of v to buf at *len (no allocation, no locale).
void append_number(char* buf, std::size_t cap, std::size_t* len, std::uint64_t v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0 && *len + 1 < cap) buf[(*len)++] = digits[--n];
}

void append_text(char* buf, std::size_t cap, std::size_t* len, const char* text) {
  while (*text != '\0' && *len + 1 < cap) buf[(*len)++] = *text++;
}

// mpirun terminates the ranks with SIGTERM when a rank dies or mpirun itself is signalled (Ctrl-C):
// say where this rank was, then hand the signal to run/interrupt.hpp, which removes what the rank
// was writing and exits with 143 (or, without it, die of the same signal).
extern "C" void on_sigterm(int sig) {
  char buf[512];
  std::size_t len = 0;
  append_text(buf, sizeof buf, &len, "dcsde: ");
  append_text(buf, sizeof buf, &len, g_rank_name);
  const std::int64_t step = g_step.load(std::memory_order_relaxed);
  if (step >= 0) {
    const std::uint64_t first = g_first_replica.load(std::memory_order_relaxed);
    append_text(buf, sizeof buf, &len, " stopped at step ");
    append_number(buf, sizeof buf, &len, static_cast<std::uint64_t>(step));
    append_text(buf, sizeof buf, &len, " (replicas ");
    append_number(buf, sizeof buf, &len, first);
    append_text(buf, sizeof buf, &len, "-");
    append_number(buf, sizeof buf, &len,
                  first + static_cast<std::uint64_t>(g_cols.load(std::memory_order_relaxed)) - 1);
    append_text(buf, sizeof buf, &len, ")");
  } else {
    append_text(buf, sizeof buf, &len, " stopped outside the optimizer's exchange");
  }
  append_text(buf, sizeof buf, &len,
              ": terminated by mpirun (mpirun was interrupted, or another rank died or aborted: "
              "mpirun names it)\n");
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, buf, len);
  if (forward_interrupt(sig)) return;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void check(int code, const char* what) {
  // MPI_COMM_WORLD's handler is MPI_ERRORS_ARE_FATAL, so this only guards a changed default.
  if (code != MPI_SUCCESS) throw DistError(std::string(what) + " failed");
}

void print_error(const std::string& message) {
  std::fprintf(stderr, "dcsde: error: %s\n", message.c_str());
  std::fflush(stderr);
}

}  // namespace

Session::Session() {
  DCSDE_ASSERT(g_session == nullptr, "one dist::Session per process");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  std::snprintf(g_rank_name, sizeof g_rank_name, "rank %d of %d", rank_, size_);
  g_session = this;
  struct sigaction action {};
  action.sa_handler = on_sigterm;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, &g_previous_sigterm);
}

Session::~Session() {
  sigaction(SIGTERM, &g_previous_sigterm, nullptr);  // run/interrupt.hpp's, when installed
  g_session = nullptr;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string Session::name() const { return g_rank_name; }

void Session::agree(const std::string& failure, std::uint64_t fingerprint) {
  // MIN over (first failed rank, fingerprint, ~fingerprint) gives the lowest failed rank and
  // both the smallest and the largest fingerprint; SUM counts the failed ranks.
  const bool failed = !failure.empty();
  std::uint64_t mins[3] = {
      failed ? static_cast<std::uint64_t>(rank_) : static_cast<std::uint64_t>(size_), fingerprint,
      ~fingerprint};
  int failures = failed ? 1 : 0;
  check(MPI_Allreduce(MPI_IN_PLACE, mins, 3, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD),
        "MPI_Allreduce (agreement)");
  check(MPI_Allreduce(MPI_IN_PLACE, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD),
        "MPI_Allreduce (agreement)");
  if (failures > 0) {
    const bool report = mins[0] == static_cast<std::uint64_t>(rank_);
    // Identical errors everywhere (a config error, a malformed message all ranks decoded) read
    // best without a rank; an error on some ranks only says where it happened.
    throw RanksStopped(failures == size_ || !report ? failure : name() + ": " + failure, report);
  }
  if (mins[1] != ~mins[2]) {
    throw RanksStopped(
        "the ranks are not running the same experiment (their fingerprints differ): every host "
        "must run the same dcsde build on the same experiment file and options",
        rank_ == 0);
  }
}

void Session::finish_exchanges() {
  agree("", 0);
  exchanging_ = false;
}

double Session::max_over_ranks(double value) const {
  check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD),
        "MPI_Allreduce (max)");
  return value;
}

void Session::set_position(const StepTag& where) const {
  g_first_replica.store(where.first_replica, std::memory_order_relaxed);
  g_cols.store(static_cast<std::int64_t>(where.cols), std::memory_order_relaxed);
  g_step.store(where.step, std::memory_order_relaxed);
}

double watchdog_seconds() {
  const char* value = std::getenv("DCSDE_WATCHDOG_SECONDS");
  if (value == nullptr) return kWatchdogSeconds;
  char* end = nullptr;
  const double seconds = std::strtod(value, &end);
  return end != value && *end == '\0' && seconds > 0.0 && seconds <= 3600.0 ? seconds
                                                                            : kWatchdogSeconds;
}

void Session::arm_watchdog(const std::string& message, double seconds) const {
  const std::string text = fmt::format(
      "dcsde: error: {}: {} (the other ranks did not stop within {:g} s; ending this rank)\n",
      name(), message, seconds);
  std::thread([text, seconds] {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
    ::_exit(2);
  }).detach();
}

int run_on_ranks(const std::function<int(Session&)>& body) {
  Session session;
  try {
    return body(session);
  } catch (const RanksStopped& e) {
    if (e.report()) print_error(e.what());
  } catch (const std::exception& e) {
    const std::string what = dynamic_cast<const Error*>(&e) != nullptr
                                 ? std::string(e.what())
                                 : std::string("unexpected error: ") + e.what();
    if (session.exchanging()) {
      // The other ranks are at, or on their way to, the next agreement point: meet them there.
      session.arm_watchdog(what);
      try {
        session.agree(what, 0);
      } catch (const RanksStopped& stopped) {
        if (stopped.report()) print_error(stopped.what());
      }
    } else {
      print_error(session.name() + ": " + what);
    }
  }
  return 2;
}

void allgather_segments(const Session& session, std::span<const std::uint8_t> local,
                        std::vector<std::uint8_t>& all, std::vector<std::uint64_t>& offsets) {
  std::vector<std::uint64_t> sizes(static_cast<std::size_t>(session.size()));
  std::uint64_t mine = local.size();
  check(MPI_Allgather(&mine, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
        "MPI_Allgather (segment sizes)");
  allgather_known(session, local, sizes, all, offsets);
}

void allgather_known(const Session& session, std::span<const std::uint8_t> local,
                     std::span<const std::uint64_t> sizes, std::vector<std::uint8_t>& all,
                     std::vector<std::uint64_t>& offsets) {
  const auto ranks = static_cast<std::size_t>(session.size());
  DCSDE_ASSERT(
      sizes.size() == ranks && sizes[static_cast<std::size_t>(session.rank())] == local.size(),
      "every rank must know every segment's size, its own included");
  offsets.assign(ranks + 1, 0);
  for (std::size_t r = 0; r < ranks; ++r) offsets[r + 1] = offsets[r] + sizes[r];
  all.resize(offsets[ranks]);
  if (offsets[ranks] <= static_cast<std::uint64_t>(INT_MAX)) {
    std::vector<int> counts(ranks), displs(ranks);
    for (std::size_t r = 0; r < ranks; ++r) {
      counts[r] = static_cast<int>(sizes[r]);
      displs[r] = static_cast<int>(offsets[r]);
    }
    check(MPI_Allgatherv(local.data(), static_cast<int>(local.size()), MPI_BYTE, all.data(),
                         counts.data(), displs.data(), MPI_BYTE, MPI_COMM_WORLD),
          "MPI_Allgatherv (messages)");
    return;
  }
  // Beyond 2 GiB in all, int counts and displacements overflow (Open MPI 4 has no MPI_Count
  // collectives): each rank broadcasts its segment in chunks straight into place.
  constexpr std::uint64_t kChunk = std::uint64_t{1} << 30;
  if (!local.empty()) {
    std::memcpy(all.data() + offsets[static_cast<std::size_t>(session.rank())], local.data(),
                local.size());
  }
  for (std::size_t r = 0; r < ranks; ++r) {
    for (std::uint64_t at = 0; at < sizes[r]; at += kChunk) {
      const auto n = static_cast<int>(std::min(kChunk, sizes[r] - at));
      check(
          MPI_Bcast(all.data() + offsets[r] + at, n, MPI_BYTE, static_cast<int>(r), MPI_COMM_WORLD),
          "MPI_Bcast (messages)");
    }
  }
}

namespace {

template <class T>
void allreduce_chunks(std::span<T> values, MPI_Datatype type) {
  constexpr std::size_t kChunk = std::size_t{1} << 28;
  for (std::size_t at = 0; at < values.size(); at += kChunk) {
    const auto n = static_cast<int>(std::min(kChunk, values.size() - at));
    check(MPI_Allreduce(MPI_IN_PLACE, values.data() + at, n, type, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce (sum)");
  }
}

}  // namespace

void allreduce_sum(const Session&, std::span<double> values) {
  allreduce_chunks(values, MPI_DOUBLE);
}

void allreduce_sum(const Session&, std::span<float> values) { allreduce_chunks(values, MPI_FLOAT); }

double wall_time() { return MPI_Wtime(); }

void barrier(const Session&) { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

}  // namespace dcsde::dist
