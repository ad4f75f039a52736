// torch_step: where one distributed training step of a LibTorch network goes in dcsde
// (docs/performance-networks.md; bench/torch_vs_pytorch.sh runs it beside the PyTorch reference
// bench/reference/torch_distributed_step.py).
//
// The workload: N = 8 agents, MLP (problem.model = "mlp", width 128, depth 2) on Fashion-MNIST,
// each agent its own minibatch of B = 32 (noise.kind = "minibatch"), rand_k (method dcsgd) or
// sign (method dsignsgd) compression, one replica, LibTorch on one thread. The objects are built
// by dcsde's config API (parse_experiment, assemble), as `dcsde run` builds them.
//
// It times, per step, the phases of Method::step (method.hpp) run one by one:
//   prepare            Method::prepare (nothing for minibatch noise)
//   forward_backward   Method::agent_gradient for every agent: minibatch draw, parameters
//                      double -> float32, forward, backward, gradient float32 -> double
//   compress           Method::add_agent_message for every agent: the compressed message added
//                      to the running sum (agent order; fused, without writing the message, for
//                      rand_k and sign)
//   aggregate          Method::finish (average, x -= h D)
// and, separately, whole Method::step calls (step_ms, the figure compared with PyTorch). The
// instrumented steps are checked to give the same iterate as Method::step, bit for bit.
// Times are process CPU time by default (--clock cpu: robust to other programs on a shared
// machine; with one LibTorch thread it equals the wall time of a quiet machine), or wall time.
//
// Usage: torch_step [--compressor rand_k|sign] [--k K | --k-divisor M] [--steps S]
//                   [--warmup W] [--threads T] [--clock cpu|wall] [--set key=value]...
// The last line printed is one JSON object with the figures (medians over the timed steps).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/torch/torch.hpp"

namespace {

using dcsde::Batch;
using dcsde::Index;
// Seconds on the chosen clock: wall (steady) or the CPU time of the process (every thread), the
// latter unaffected by other programs competing for the cores.
bool g_cpu_clock = true;
double now() {
  if (!g_cpu_clock)
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Args {
  std::string compressor = "rand_k";
  Index k = 0;                    // rand_k: coordinates kept; 0: d / k_divisor
  Index k_divisor = 100;          // rand_k: k = d / k_divisor when --k is not given
  int steps = 100;                // timed steps (each measured twice: instrumented and whole)
  int warmup = 10;                // untimed steps first
  int threads = 1;                // LibTorch intra-op threads (run.threads)
  std::string clock = "cpu";      // cpu (process CPU time) | wall
  std::vector<std::string> sets;  // further experiment overrides
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(
      stderr,
      "torch_step: %s\nusage: torch_step [--compressor rand_k|sign] [--k K | --k-divisor "
      "M] [--steps S] [--warmup W] [--threads T] [--clock cpu|wall] [--set key=value]...\n",
      why);
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + flag).c_str());
    const char* value = argv[++i];
    if (flag == "--compressor") {
      a.compressor = value;
    } else if (flag == "--k") {
      a.k = std::atoll(value);
    } else if (flag == "--k-divisor") {
      a.k_divisor = std::atoll(value);
    } else if (flag == "--steps") {
      a.steps = std::atoi(value);
    } else if (flag == "--warmup") {
      a.warmup = std::atoi(value);
    } else if (flag == "--threads") {
      a.threads = std::atoi(value);
    } else if (flag == "--clock") {
      a.clock = value;
    } else if (flag == "--set") {
      a.sets.emplace_back(value);
    } else {
      usage(("unknown flag " + flag).c_str());
    }
  }
  if (a.compressor != "rand_k" && a.compressor != "sign") usage("--compressor is rand_k or sign");
  if (a.clock != "cpu" && a.clock != "wall") usage("--clock is cpu or wall");
  if (a.steps < 1 || a.warmup < 0 || a.threads < 1 || a.k < 0 || a.k_divisor < 1)
    usage("need steps >= 1, warmup >= 0, threads >= 1, k >= 0, k-divisor >= 1");
  return a;
}

// The experiment of the benchmark (docs/performance-networks.md), as a `dcsde run` file.
std::string experiment_toml(const Args& a) {
  const bool sign = a.compressor == "sign";
  return "[experiment]\nname = \"torch_step\"\n"
         "[problem]\nobjective = \"torch\"\nmodel = \"mlp\"\ndataset = \"fashion_mnist\"\n"
         "full_batch = 256\ntest_examples = 0\n"
         "[noise]\nkind = \"minibatch\"\nbatch = 32\n"
         "[agents]\ncount = 8\n"
         "[compressor]\nkind = \"" +
         a.compressor + "\"\n" + (sign ? "" : "k = 1\n") + "[method]\nkind = \"" +
         (sign ? "dsignsgd" : "dcsgd") +
         "\"\nlr = 0.05\n"
         "steps = 1000000\n"
         "[run]\nreplicas = 1\nseed = 1\nthreads = " +
         std::to_string(a.threads) + "\n";
}

struct PhaseTimes {
  std::vector<double> prepare, forward_backward, compress, aggregate, total;
};

int run(const Args& args) {
  g_cpu_clock = args.clock == "cpu";
  dcsde::torch_networks::install();
  std::vector<std::string> sets = args.sets;
  const dcsde::ExperimentPlan plan =
      dcsde::parse_experiment(experiment_toml(args), "torch_step", sets);
  dcsde::Experiment e = plan.points.front().experiment;
  dcsde::Assembled built = dcsde::assemble(e);
  const Index d = built.objective->dim();
  // rand_k's k depends on d: the compressor and method are rebuilt with it.
  if (e.compressor.kind == dcsde::CompressorKind::kRandK) {
    e.compressor.k = args.k > 0 ? args.k : std::max<Index>(1, d / args.k_divisor);
    built.compressor = dcsde::make_compressor(e.compressor, d);
    built.method = std::make_unique<dcsde::Method>(e.method, *built.objective, *built.noise,
                                                   *built.compressor, e.agents);
  }
  const dcsde::Method& method = *built.method;
  const dcsde::Compressor& compressor = method.compressor();
  const std::uint64_t seed = e.run.seed;
  const Index agents = method.agents();

  dcsde::MethodWorkspace ws;
  ws.resize(d, 1);
  dcsde::RowVector step_sizes(1);

  // One step, phase by phase: what Method::step does (method.hpp), with clocks in between.
  auto instrumented_step = [&](Batch& X, std::int64_t k, PhaseTimes* t) {
    const double t0 = now();
    method.prepare(X, ws);
    const double prepare = now() - t0;
    ws.direction.setZero();
    double fb = 0.0, comp = 0.0, agg = 0.0;
    for (Index i = 0; i < agents; ++i) {
      const double a0 = now();
      method.agent_gradient(i, X, k, seed, 0, ws);
      const double a1 = now();
      method.add_agent_message(i, k, seed, 0, ws);
      const double a2 = now();
      fb += a1 - a0;
      comp += a2 - a1;
    }
    const double f0 = now();
    method.finish(X, k, ws, step_sizes);
    agg += now() - f0;
    if (t) {
      t->prepare.push_back(prepare);
      t->forward_backward.push_back(fb);
      t->compress.push_back(comp);
      t->aggregate.push_back(agg);
      t->total.push_back(now() - t0);
    }
  };

  // The instrumented step is Method::step: same iterate, bit for bit, over a few steps.
  {
    Batch a = built.x0, b = built.x0;
    for (std::int64_t k = 0; k < 3; ++k) {
      instrumented_step(a, k, nullptr);
      method.step(b, k, seed, 0, ws, step_sizes);
    }
    if (std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(d)) != 0) {
      std::fprintf(stderr, "torch_step: the instrumented step differs from Method::step\n");
      return 1;
    }
  }

  Batch X = built.x0;
  std::int64_t k = 0;
  for (int s = 0; s < args.warmup; ++s, ++k) method.step(X, k, seed, 0, ws, step_sizes);
  PhaseTimes t;
  std::vector<double> whole;
  // Alternating instrumented and whole steps, so that both see the same machine load.
  for (int s = 0; s < args.steps; ++s) {
    instrumented_step(X, k++, &t);
    const double t0 = now();
    method.step(X, k++, seed, 0, ws, step_sizes);
    whole.push_back(now() - t0);
  }
  if (!X.allFinite()) std::fprintf(stderr, "torch_step: warning: the iterate is not finite\n");

  const double ms = 1e3;
  // Coordinates an agent sends: k for the kinds that read it, else d.
  const Index kept =
      (dcsde::spec_of(e.compressor.kind).keys & dcsde::kCompressorK) ? e.compressor.k : d;
  const double fb = median(t.forward_backward) * ms, comp = median(t.compress) * ms,
               agg = median(t.aggregate) * ms, prep = median(t.prepare) * ms;
  std::printf("dcsde %s %s: d = %lld, k = %lld, N = %lld, B = %lld, %d steps, %s time\n",
              std::string(kind_name(e.method.kind)).c_str(), compressor.name().c_str(),
              static_cast<long long>(d), static_cast<long long>(kept),
              static_cast<long long>(agents), static_cast<long long>(e.noise.batch), args.steps,
              args.clock.c_str());
  std::printf(
      "  Method::step %.3f ms (instrumented %.3f ms): prepare %.3f, forward-backward %.3f, "
      "compress %.3f, aggregate %.3f ms; (compress + aggregate) / forward-backward = "
      "%.2f %%\n",
      median(whole) * ms, median(t.total) * ms, prep, fb, comp, agg, 100.0 * (comp + agg) / fb);
  std::printf(
      "{\"side\": \"dcsde\", \"compressor\": \"%s\", \"d\": %lld, \"k\": %lld, \"agents\": %lld, "
      "\"batch\": %lld, \"steps\": %d, \"threads\": %d, \"clock\": \"%s\", \"step_ms\": %.6f, "
      "\"instrumented_step_ms\": %.6f, \"prepare_ms\": %.6f, \"forward_backward_ms\": %.6f, "
      "\"compress_ms\": %.6f, \"aggregate_ms\": %.6f, \"compress_aggregate_ms\": %.6f}\n",
      compressor.name().c_str(), static_cast<long long>(d), static_cast<long long>(kept),
      static_cast<long long>(agents), static_cast<long long>(e.noise.batch), args.steps,
      args.threads, args.clock.c_str(), median(whole) * ms, median(t.total) * ms, prep, fb, comp,
      agg, comp + agg);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "torch_step: %s\n", ex.what());
    return 1;
  }
}
