// Issue 8, target 4: the step loop allocates nothing, and the peak heap of workload (a) stays
// within twice its state. A counting allocator: this test binary interposes glibc's malloc
// family (what operator new and Eigen's aligned allocator call), counting calls and live bytes
// while a flag is set.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "dcsde/config/experiment.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {

std::atomic<bool> g_counting{false};
std::atomic<long long> g_calls{0}, g_live{0}, g_peak{0};

void count_in(void* p) {
  if (!p || !g_counting.load(std::memory_order_relaxed)) return;
  g_calls.fetch_add(1, std::memory_order_relaxed);
  const long long live =
      g_live.fetch_add(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed) +
      static_cast<long long>(malloc_usable_size(p));
  long long peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
}
void count_out(void* p) {
  if (p && g_counting.load(std::memory_order_relaxed))
    g_live.fetch_sub(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
}

}  // namespace

// Frees of blocks allocated before counting started make `live` dip below 0; only differences
// and the peak above the starting level are used.
extern "C" {
void* malloc(std::size_t n) noexcept {
  void* p = __libc_malloc(n);
  count_in(p);
  return p;
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  void* p = __libc_calloc(n, size);
  count_in(p);
  return p;
}
void* realloc(void* old, std::size_t n) noexcept {
  count_out(old);
  void* p = __libc_realloc(old, n);
  count_in(p);
  return p;
}
void* memalign(std::size_t alignment, std::size_t n) noexcept {
  void* p = __libc_memalign(alignment, n);
  count_in(p);
  return p;
}
void* aligned_alloc(std::size_t alignment, std::size_t n) noexcept {
  return memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) noexcept {
  *out = memalign(alignment, n);
  return *out ? 0 : 12;  // ENOMEM
}
void free(void* p) noexcept {
  count_out(p);
  __libc_free(p);
}
}

namespace dcsde {
namespace {

struct Counts {
  long long calls = 0, peak_bytes = 0;
};

// Runs workload `toml` (the optimizer, or the SDE when it has [sde]) with the overrides `sets`,
// counting the allocations of run_process alone.
Counts counted_run(const std::string& toml, const std::vector<std::string>& sets) {
  const ExperimentPlan plan = parse_experiment(toml, "allocation.toml", sets);
  const Experiment& e = plan.points.front().experiment;
  const Assembled a = assemble(e);
  OptimizerProcess optimizer(*a.method);
  const Process& process = a.sde ? static_cast<const Process&>(*a.sde) : optimizer;
  const Vector x0 = e.initial_state();
  g_calls = 0;
  g_live = 0;
  g_peak = 0;
  g_counting = true;
  const ProcessSummary s = run_process(process, x0, e.run);
  g_counting = false;
  EXPECT_EQ(s.diverged, 0);
  return {g_calls.load(), g_peak.load()};
}

std::string workload(const std::string& method) {
  return "[problem]\nobjective = \"quadratic\"\ndim = 100\neigen_min = 1.0\neigen_max = 10.0\n"
         "[agents]\ncount = 8\n[run]\nthreads = 1\nseed = 1\n" +
         method;
}
const char* kA =
    "[noise]\nkind = \"gaussian\"\n[compressor]\nkind = \"rand_k\"\nk = 10\n[method]\n"
    "kind = \"dcsgd\"\nlr = 0.01\n";
const char* kB =
    "[noise]\nkind = \"student_t\"\nnu = 1.5\n[compressor]\nkind = \"sign\"\n[method]\n"
    "kind = \"dsignsgd\"\nlr = 0.01\n";
// Workload (b) as bench/workloads/ runs it: the signs drawn from their law.
const char* kBLaw =
    "[noise]\nkind = \"student_t\"\nnu = 1.5\n[compressor]\nkind = \"sign\"\n[method]\n"
    "kind = \"dsignsgd\"\nlr = 0.01\nsign_draw = \"law\"\n";
const char* kC =
    "[noise]\nkind = \"gaussian\"\n[compressor]\nkind = \"rand_k\"\nk = 10\n[method]\n"
    "kind = \"dcsgd\"\nlr = 0.01\n[sde]\nlaw = \"closed_form\"\n";

// The same run with 20 and with 400 steps (two records each: the first and the last) makes the
// same allocations: none per step. A first run warms up what is allocated once per thread.
TEST(Allocation, TheStepLoopOfEveryWorkloadAllocatesNothing) {
  for (const char* method : {kA, kB, kBLaw, kC}) {
    const std::string toml = workload(method);
    auto sets = [](int steps) {
      return std::vector<std::string>{"run.replicas=48", "method.steps=" + std::to_string(steps),
                                      "run.record_every=" + std::to_string(steps)};
    };
    counted_run(toml, sets(5));
    const Counts short_run = counted_run(toml, sets(20));
    const Counts long_run = counted_run(toml, sets(400));
    EXPECT_GT(short_run.calls, 0) << "the counting allocator counts";
    EXPECT_EQ(long_run.calls, short_run.calls) << method;
  }
}

// Workload (a) at full size (d = 100, R = 1000, 8 agents, 2000 steps recorded every 10): the
// run's peak heap above what was live before it is at most 2 d R doubles besides the recorded
// losses. The runner advances one block of 16 replicas at a time per thread, so the states of
// all R replicas are never held at once: what stays is per-replica (tail means, divergence
// steps), per block and record (moments) and per replica and record (the losses the exact
// quantiles need: R x 201 records, and the summary's copy of one record).
TEST(Allocation, PeakHeapOfWorkloadAIsWithinTwiceItsState) {
  const std::vector<std::string> sets = {"run.replicas=1000", "method.steps=2000",
                                         "run.record_every=10"};
  const Counts c = counted_run(workload(kA), sets);
  const double state = 100.0 * 1000.0 * sizeof(double);
  const double losses = 1000.0 * (201.0 + 1.0) * sizeof(double);
  EXPECT_LE(static_cast<double>(c.peak_bytes), 2.0 * state + losses)
      << "peak " << c.peak_bytes << " bytes, state " << state << " bytes, recorded losses "
      << losses << " bytes";
  RecordProperty("peak_heap_bytes", std::to_string(c.peak_bytes));
}

}  // namespace
}  // namespace dcsde
