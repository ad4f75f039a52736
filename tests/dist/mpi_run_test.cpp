// dcsde run --backend mpi under mpirun, as a user runs it: results bit-identical to the local
// backend for 1, 2 and 4 ranks, bytes on the wire equal to the compressors' bit cost, and every
// fault (a killed rank, a corrupted message, a failure on one rank) ending every rank within
// seconds with the rank and step named and no results written.
#ifdef DCSDE_HAVE_MPI

#include <cmath>
#include <csignal>
#include <thread>

#include "../support/command.hpp"
#include "dist_test_util.hpp"

namespace dcsde::testing_dist {
namespace {

// d = 20, 8 agents, 32 replicas (two blocks of 16), 100 steps; one point per method, and one
// whose agents each encode with their own compressor (rank r encodes its agents' kinds).
const char* kSweep = R"([experiment]
name = "dist"
[problem]
objective = "quadratic"
dim = 20
[noise]
kind = "gaussian"
sigma = 0.5
[agents]
count = 8
[compressor]
kind = "rand_k"
k = 4
[method]
kind = "dcsgd"
lr = 0.05
steps = 100
[run]
replicas = 32
record_every = 20
seed = 3
[output]
plot = false
[sweep]
method = [
  { label = "dsgd", "method.kind" = "dsgd", "compressor.kind" = "identity" },
  { label = "dcsgd rand_k", "method.kind" = "dcsgd", "compressor.kind" = "rand_k" },
  { label = "dcsgd qsgd", "method.kind" = "dcsgd", "compressor.kind" = "qsgd" },
  { label = "dsignsgd", "method.kind" = "dsignsgd", "compressor.kind" = "sign" },
  { label = "majority_vote", "method.kind" = "majority_vote", "compressor.kind" = "sign" },
  { label = "dsignsgd law", "method.kind" = "dsignsgd", "compressor.kind" = "sign", "method.sign_draw" = "law" },
  { label = "dcsgd per agent", "method.kind" = "dcsgd", "compressor.kind" = ["rand_k", "rand_k", "qsgd", "natural", "rand_k", "natural_dithering", "identity", "qsgd"], "compressor.levels" = 2 },
]
)";

// The sweep without its [sweep] table: one point (dcsgd rand_k).
std::string single_point() {
  const std::string sweep = kSweep;
  return sweep.substr(0, sweep.find("[sweep]"));
}

TEST_F(MpiRun, SweepIsBitIdenticalToLocalOn1_2_4Ranks) {
  const fs::path local = run_local(kSweep);
  for (int ranks : {1, 2, 4}) {
    const std::string name = "out_np" + std::to_string(ranks);
    // One rank: started without mpirun, the binary is a one-rank MPI job (singleton), as on a
    // workstation; mpirun -np 1 is AllreduceIsEqualUpToRounding's first run.
    const Result r = ranks == 1 ? singleton(name) : run_mpi(ranks, name);
    ASSERT_EQ(r.status, 0) << r.output;
    expect_same_results(local, dir_ / name);
    // Each point's record of the exchange: measured bytes = the compressor's bit cost.
    for (const auto& point : summary(dir_ / name / "summary.json")["points"]) {
      const auto& p = point["processes"]["optimizer"];
      const auto& c = p["communication"];
      EXPECT_EQ(c["ranks"], ranks);
      EXPECT_EQ(c["exchange"], "gather");
      EXPECT_EQ(c["raw_messages"], 0);
      EXPECT_EQ(c["messages"], 8 * 32 * 100);
      EXPECT_EQ(c["bytes_per_agent_per_step"].get<double>() * 8.0,
                p["bits_per_agent_per_step"].get<double>())
          << point["label"];
      long agents = 0;
      for (const auto& n : c["agents_per_rank"]) agents += n.get<long>();
      EXPECT_EQ(agents, 8);
      EXPECT_GE(c["comm_seconds"].get<double>(), 0.0);
      EXPECT_GT(c["compute_seconds"].get<double>(), 0.0);
      // The order statistics too (expect_same_results compared them with the local ones).
      EXPECT_TRUE(p["final"]["loss_median"].is_number()) << point["label"];
      EXPECT_TRUE(p["final"]["loss_median_ci95"].is_array()) << point["label"];
    }
  }
}

// 1 agent on 2 ranks: rank 0 (which writes the results) owns none and only decodes.
TEST_F(MpiRun, MoreRanksThanAgentsEqualsLocal) {
  const fs::path local = run_local(single_point(), "--set agents.count=1");
  const Result r = run_mpi(2, "out_np2", "--set agents.count=1");
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same_results(local, dir_ / "out_np2");
  const auto c =
      summary(dir_ / "out_np2" / "summary.json")["processes"]["optimizer"]["communication"];
  EXPECT_EQ(c["agents_per_rank"], nlohmann::json::array({0, 1}));
}

// Diverging replicas are data: their non-finite gradients travel raw and the divergence steps,
// curves and summaries are the local ones.
TEST_F(MpiRun, DivergingReplicasEqualLocal) {
  const std::string sets =
      "--set noise.kind='\"affine_gaussian\"' --set noise.sigma0=1.0 --set noise.sigma1=3.0 "
      "--set method.lr=1.0 --set problem.eigen_max=10.0 --set agents.count=5 "
      "--set method.steps=150 --set run.record_every=50";
  const fs::path local = run_local(single_point(), sets);
  const Result r = run_mpi(2, "out_np2", sets);
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same_results(local, dir_ / "out_np2");
  const auto p = summary(dir_ / "out_np2" / "summary.json")["processes"]["optimizer"];
  EXPECT_GT(p["diverged"].get<int>(), 0);
  EXPECT_GT(p["communication"]["raw_messages"].get<int>(), 0);
}

// --exchange allreduce (DSGD): one MPI_Allreduce of partial sums. Bit-identical on one rank,
// equal up to rounding on more; refused for compressed messages.
TEST_F(MpiRun, AllreduceIsEqualUpToRounding) {
  const std::string dsgd = "--set method.kind='\"dsgd\"' --set compressor.kind='\"identity\"'";
  const fs::path local = run_local(single_point(), dsgd);
  const Result one = run_mpi(1, "out_np1", dsgd + " --exchange allreduce");
  ASSERT_EQ(one.status, 0) << one.output;
  expect_same_results(local, dir_ / "out_np1");
  const Result two = run_mpi(2, "out_np2", dsgd + " --exchange allreduce");
  ASSERT_EQ(two.status, 0) << two.output;
  const auto a = summary(local / "summary.json")["processes"]["optimizer"];
  const auto b = summary(dir_ / "out_np2" / "summary.json")["processes"]["optimizer"];
  EXPECT_EQ(b["communication"]["exchange"], "allreduce");
  for (const char* key :
       {"loss_mean", "loss_std", "grad_norm_mean", "loss_median", "loss_q05", "loss_q95"}) {
    const double x = a["final"][key], y = b["final"][key];
    EXPECT_NEAR(x, y, 1e-12 * std::abs(x)) << key;
  }
  const Result refused = run_mpi(1, "out_refused", "--exchange allreduce");
  EXPECT_EQ(refused.status, 2) << refused.output;
  EXPECT_NE(refused.output.find("--exchange allreduce adds uncompressed gradients"),
            std::string::npos)
      << refused.output;
  EXPECT_FALSE(fs::exists(dir_ / "out_refused"));
}

TEST_F(MpiRun, KilledRankEndsEveryRankWithinSeconds) {
  write("exp.toml", single_point());
  const Result r = run_mpi(3, "out", "", "DCSDE_FAULT=kill:2:50");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_LT(r.seconds, 20.0) << r.output;
  // mpirun names the dead rank; each survivor names the step it was exchanging.
  EXPECT_NE(r.output.find("process rank 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 0 of 3 stopped at step 50 (replicas 0-15)"), std::string::npos)
      << r.output;
  EXPECT_FALSE(any_results()) << "a results or staging folder was written";
}

TEST_F(MpiRun, CorruptedMessageEndsEveryRankNamingRankAndStep) {
  write("exp.toml", single_point());
  const Result r = run_mpi(2, "out", "", "DCSDE_FAULT=corrupt:1:30");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_LT(r.seconds, 20.0) << r.output;
  EXPECT_NE(r.output.find("dcsde: error: step 30 (replicas 0-15): the message of agent 4 (rank "
                          "1) for replica 0 is malformed: rand_k message, byte 0: format tag"),
            std::string::npos)
      << r.output;
  // Every rank decoded the same bytes and stopped; exactly one reports it.
  std::size_t errors = 0;
  for (std::size_t at = 0; (at = r.output.find("dcsde: error:", at)) != std::string::npos; ++at)
    ++errors;
  EXPECT_EQ(errors, 1u) << r.output;
  EXPECT_FALSE(any_results());
}

// A failure that only one rank sees leaves the others waiting in the exchange: the failed rank
// gives up after its watchdog (5 s; 2 s here through DCSDE_WATCHDOG_SECONDS) and mpirun ends the
// rest.
TEST_F(MpiRun, FailureOnOneRankDoesNotHang) {
  write("exp.toml", single_point());
  const Result r = run_mpi(2, "out", "", "DCSDE_FAULT=fail:1:20 DCSDE_WATCHDOG_SECONDS=2");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_LT(r.seconds, 20.0) << r.output;
  EXPECT_NE(r.output.find("dcsde: error: rank 1 of 2: step 20 (replicas 0-15): DCSDE_FAULT"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("(the other ranks did not stop within 2 s; ending this rank)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("rank 0 of 2 stopped at step 20"), std::string::npos) << r.output;
  EXPECT_FALSE(any_results());
}

TEST_F(MpiRun, SetupErrorsStopEveryRankWithOneMessage) {
  write("exp.toml", single_point());
  const Result bad_fault = run_mpi(2, "out", "", "DCSDE_FAULT=explode");
  EXPECT_EQ(bad_fault.status, 2) << bad_fault.output;
  EXPECT_EQ(bad_fault.output.find("dcsde: error: DCSDE_FAULT = 'explode'. Violated constraint"),
            bad_fault.output.rfind("dcsde: error:"))
      << "one message expected:\n"
      << bad_fault.output;
  const Result bad_rank = run_mpi(2, "out", "", "DCSDE_FAULT=kill:5:3");
  EXPECT_EQ(bad_rank.status, 2) << bad_rank.output;
  EXPECT_NE(bad_rank.output.find("names rank 5, but the run has 2 ranks"), std::string::npos)
      << bad_rank.output;
  const Result local_under_mpirun =
      mpirun(2, "run " + (dir_ / "exp.toml").string() + " --out " + (dir_ / "out").string());
  EXPECT_EQ(local_under_mpirun.status, 2) << local_under_mpirun.output;
  EXPECT_NE(local_under_mpirun.output.find("add --backend mpi"), std::string::npos)
      << local_under_mpirun.output;
  EXPECT_FALSE(any_results());
}

// Ctrl-C or SIGTERM to mpirun reaches every rank; rank 0 removes its lock (and its staging folder,
// created after the exchanges) and says so, and the job ends within seconds.
TEST_F(MpiRun, SignalToMpirunStopsEveryRankCleanly) {
  std::string endless = single_point();
  endless.replace(endless.find("steps = 100"), 11, "steps = 1000000000");
  write("exp.toml", endless);
  const std::string command =
      "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "OMPI_MCA_btl_vader_single_copy_mechanism=none " +
      std::string(DCSDE_MPIEXEC) + " --oversubscribe -np 2 " + DCSDE_BINARY + " run " +
      (dir_ / "exp.toml").string() + " --out " + (dir_ / "out").string() + " --quiet --backend mpi";
  dcsde::testing::BackgroundCommand job(command, (dir_ / "job.log").string());
  ASSERT_TRUE(dcsde::testing::eventually([&] { return fs::exists(dir_ / "out.lock"); }, 60.0));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // well into the exchanges
  job.signal(SIGTERM);
  EXPECT_TRUE(dcsde::testing::eventually([&] { return !job.running(); }, 20.0))
      << "mpirun did not end within 20 s of SIGTERM";
  const std::string log = read_file(dir_ / "job.log");
  EXPECT_NE(log.find("dcsde: interrupted by SIGTERM"), std::string::npos) << log;
  EXPECT_FALSE(any_results());
  EXPECT_FALSE(fs::exists(dir_ / "out.lock")) << log;
}

}  // namespace
}  // namespace dcsde::testing_dist

#endif  // DCSDE_HAVE_MPI
