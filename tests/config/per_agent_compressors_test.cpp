// Per-agent compressors (the poster's omega_i): every [compressor] key takes one value or one per
// agent; the agents' options are checked one by one and bad lists name the key and the agent.
#include <gtest/gtest.h>

#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/sde/law.hpp"

namespace dcsde {
namespace {

const std::string kFour = R"([problem]
objective = "quadratic"
dim = 10
[noise]
kind = "gaussian"
sigma = 1.0
[agents]
count = 4
[method]
kind = "dcsgd"
lr = 0.05
steps = 20
[run]
replicas = 4
)";

Experiment parse(const std::string& compressor) {
  return parse_experiment(kFour + "[compressor]\n" + compressor, "agents.toml")
      .points.front()
      .experiment;
}

std::string error_of(const std::string& compressor) {
  try {
    parse(compressor);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PerAgentCompressors, ListsGiveEachAgentItsOptions) {
  const Experiment e = parse(
      "kind = [\"rand_k\", \"rand_k\", \"qsgd\", \"natural\"]\n"
      "k = [2, 5, 1, 1]\nlevels = 4\n");
  ASSERT_FALSE(e.uniform_compressors());
  EXPECT_EQ(e.compressor_of(0).kind, CompressorKind::kRandK);
  EXPECT_EQ(e.compressor_of(1).k, 5);
  EXPECT_EQ(e.compressor_of(2).kind, CompressorKind::kQsgd);
  EXPECT_EQ(e.compressor_of(2).levels, 4);  // a single value reaches every agent
  EXPECT_EQ(e.compressor_of(3).kind, CompressorKind::kNatural);
  EXPECT_EQ(e.compressor.kind, CompressorKind::kRandK) << "compressor is agent 0's";
  // Keys may come in any order: a single value before a list reaches the list's agents too.
  const Experiment f = parse("levels = 4\nkind = [\"qsgd\", \"qsgd\", \"qsgd\", \"rand_k\"]\n");
  EXPECT_EQ(f.compressor_of(1).levels, 4);
  // The resolved TOML reads back to the same agents.
  const Experiment g = parse_experiment(to_toml(e), "config.toml").points.front().experiment;
  for (Index i = 0; i < 4; ++i) EXPECT_EQ(g.compressor_of(i), e.compressor_of(i)) << i;
}

TEST(PerAgentCompressors, EqualEntriesAreOneCompressor) {
  const Experiment e = parse("kind = \"bernoulli\"\np = [0.5, 0.5, 0.5, 0.5]\n");
  EXPECT_TRUE(e.uniform_compressors());
  EXPECT_DOUBLE_EQ(e.compressor.p, 0.5);
}

TEST(PerAgentCompressors, BadListsNameTheKeyAndTheAgent) {
  EXPECT_NE(error_of("kind = \"bernoulli\"\np = [0.5, 0.25]\n")
                .find("compressor.p = [0.5, 0.25]. Violated constraint: one value or one per "
                      "agent (agents.count = 4)"),
            std::string::npos)
      << error_of("kind = \"bernoulli\"\np = [0.5, 0.25]\n");
  const std::string range = error_of("kind = \"rand_k\"\nk = [2, 2, 0, 2]\n");
  EXPECT_NE(range.find("compressor.k = 0. Violated constraint: 1 <= k <= dim = 10. (agent 2's "
                       "compressor, rand_k)"),
            std::string::npos)
      << range;
  EXPECT_NE(range.find("agents.toml:"), std::string::npos) << range;
  const std::string element = error_of("kind = [\"rand_k\", \"rand_k\", \"cubic\", \"sign\"]\n");
  EXPECT_NE(element.find("compressor.kind[2] = \"cubic\". Violated constraint: one of identity"),
            std::string::npos)
      << element;
  const std::string counts = error_of(
      "kind = [\"rand_k\", \"rand_k\", \"bernoulli\", \"bernoulli\"]\n"
      "p = [0.5, 0.5, 0.5]\n");
  EXPECT_NE(counts.find("as many as the other lists of [compressor] (4)"), std::string::npos)
      << counts;
  // A list no agent's kind reads: the key is another kind's.
  const std::string foreign = error_of("kind = \"rand_k\"\nk = 2\np = [0.1, 0.2, 0.3, 0.4]\n");
  EXPECT_NE(foreign.find("compressor.p = [0.1, 0.2, 0.3, 0.4]. Violated constraint: a key one of "
                         "the agents' compressors reads; the agents' kinds (rand_k, rand_k, "
                         "rand_k, rand_k) do not read p"),
            std::string::npos)
      << foreign;
  // A method's requirement names the agent.
  const std::string biased =
      error_of("kind = [\"rand_k\", \"top_k\", \"rand_k\", \"rand_k\"]\nk = 2\n");
  EXPECT_NE(biased.find("'top_k' (agent 1) is biased"), std::string::npos) << biased;
}

TEST(PerAgentCompressors, TheMethodAndTheLawSeeEachAgentsCompressor) {
  const Experiment e = parse("kind = \"bernoulli\"\np = [0.25, 0.5, 1.0, 0.2]\n");
  const Assembled a = assemble(e);
  EXPECT_FALSE(a.method->uniform_compressors());
  EXPECT_DOUBLE_EQ(a.method->compressor_of(3).omega(10).value(), 4.0);
  EXPECT_DOUBLE_EQ(a.method->mean_omega(), 2.0);
  // Bits per agent per step: the mean of the agents' expected message sizes.
  double bits = 0.0;
  for (Index i = 0; i < 4; ++i) bits += a.method->compressor_of(i).message_bits(10);
  EXPECT_DOUBLE_EQ(a.method->bits_per_agent_per_step(), bits / 4.0);
  // Thm 1 with omega_i: a closed form while the agents share one compressor law (identity
  // counts as any); none for Bernoulli mixed with rand-k.
  const std::vector<CompressorKind> shared = {CompressorKind::kBernoulli,
                                              CompressorKind::kIdentity};
  const std::vector<CompressorKind> mixed = {CompressorKind::kBernoulli, CompressorKind::kRandK};
  EXPECT_TRUE(has_closed_form_law(MethodKind::kDcsgd, shared, NoiseKind::kGaussian));
  EXPECT_FALSE(has_closed_form_law(MethodKind::kDcsgd, mixed, NoiseKind::kGaussian));
}

}  // namespace
}  // namespace dcsde
