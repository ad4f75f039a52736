// Method::step's fused sparse path (rand_k: the noise of the kept coordinates only) gives the
// bits of the phases a transport runs (prepare, agent_message summed in agent order, finish),
// which draw the noise of every coordinate and compress it afterwards (method/method.hpp).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../support/method_phases.hpp"
#include "dcsde/config/experiment.hpp"

namespace dcsde {
namespace {

struct Case {
  std::string name, noise;
  int k;
};

class SparseStep : public ::testing::TestWithParam<Case> {};

TEST_P(SparseStep, EqualsThePhasesBitForBit) {
  const Case& p = GetParam();
  const std::string toml =
      "[problem]\nobjective = \"quadratic\"\ndim = 37\neigen_min = 0.5\neigen_max = 4.0\n"
      "x0 = 1.0\n[noise]\n" +
      p.noise +
      "\n[agents]\ncount = 3\n[compressor]\nkind = \"rand_k\"\nk = " + std::to_string(p.k) +
      "\n[method]\nkind = \"dcsgd\"\nlr = 0.05\nsteps = 1\n";
  const Experiment e = parse_experiment(toml, "sparse.toml").points.front().experiment;
  const Assembled a = assemble(e);
  const Method& method = *a.method;
  // Five columns; replicas from 7, and from 2^32 - 2 (streams with folded keys).
  for (std::uint64_t first : {std::uint64_t{7}, (std::uint64_t{1} << 32) - 2}) {
    const auto r = testing_support::fused_and_phases(
        method, testing_support::random_block(37, 5, 3), 3, 11, first);
    EXPECT_EQ(std::memcmp(r.fused.data(), r.phases.data(), sizeof(double) * r.fused.size()), 0)
        << p.name << ", first replica " << first;
    EXPECT_EQ(r.fused_steps, r.phase_steps);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Noises, SparseStep,
    ::testing::Values(
        Case{"gaussian", "kind = \"gaussian\"\nsigma = [0.5, 1.0, 2.0]", 5},
        Case{"student_t", "kind = \"student_t\"\nnu = 1.5", 4},
        Case{"affine_scaled",
             "kind = \"affine_gaussian\"\nsigma0 = 0.3\nsigma1 = 0.5\ncoordinate_scale = [" +
                 [] {
                   std::string v;
                   for (int j = 0; j < 37; ++j)
                     v += (j ? ", " : "") + std::to_string(0.5 + 0.05 * j);
                   return v;
                 }() +
                 "]",
             36},
        Case{"none", "kind = \"none\"", 1}, Case{"k_is_d", "kind = \"gaussian\"", 37}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace dcsde
