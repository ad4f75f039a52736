// Method::add_agent_message (phase 2b) adds each compressor's message to the running sum with the
// bits of adding agent_message, whether it writes the message (apply), adds only the kept
// coordinates (rand_k) or accumulates in place (sign); and Method::step, which uses it, equals
// the phases a transport runs (method/method.hpp).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "../support/method_phases.hpp"
#include "dcsde/compress/compressor.hpp"
#include "dcsde/config/experiment.hpp"

namespace dcsde {
namespace {

constexpr Index kDim = 41, kCols = 6, kAgents = 3;

Assembled build(const std::string& kind) {
  const bool sign = kind == "sign";
  const std::string toml =
      "[problem]\nobjective = \"quadratic\"\ndim = " + std::to_string(kDim) +
      "\neigen_min = 0.5\neigen_max = 4.0\nx0 = 1.0\n[noise]\nkind = \"student_t\"\nnu = 2.5\n"
      "[agents]\ncount = " +
      std::to_string(kAgents) + "\n[compressor]\nkind = \"" + kind + "\"\n" +
      (kind == "rand_k" ? "k = 7\n" : "") + "[method]\nkind = \"" + (sign ? "dsignsgd" : "dcsgd") +
      "\"\nlr = 0.05\nsteps = 1\n";
  return assemble(parse_experiment(toml, "add_message.toml").points.front().experiment);
}

bool same_bits(const Batch& a, const Batch& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

class AddMessage : public ::testing::TestWithParam<std::string> {};

TEST_P(AddMessage, AddsTheBitsOfAgentMessage) {
  const Assembled a = build(GetParam());
  const Method& method = *a.method;
  const Batch X = testing_support::random_block(kDim, kCols, 5);
  MethodWorkspace ws;
  ws.resize(kDim, kCols);
  method.prepare(X, ws);
  Batch expected = Batch::Zero(kDim, kCols);
  ws.direction.setZero();
  for (Index i = 0; i < kAgents; ++i) {
    for (std::int64_t k : {0, 9}) {
      expected += method.agent_message(i, X, k, 13, 100, ws);
      method.agent_gradient(i, X, k, 13, 100, ws);
      method.add_agent_message(i, k, 13, 100, ws);
    }
  }
  EXPECT_TRUE(same_bits(ws.direction, expected)) << GetParam();
  EXPECT_GT(ws.direction.cwiseAbs().sum(), 0.0);
}

TEST_P(AddMessage, StepEqualsThePhases) {
  const Assembled a = build(GetParam());
  const Method& method = *a.method;
  const auto r = testing_support::fused_and_phases(
      method, testing_support::random_block(kDim, kCols, 6), 3, 17, 3);
  EXPECT_TRUE(same_bits(r.fused, r.phases)) << GetParam();
  EXPECT_EQ(r.fused_steps, r.phase_steps);
}

// Every compressor a method accepts with these options (top_k is biased: dcsgd refuses it).
std::vector<std::string> kinds() {
  std::vector<std::string> out;
  for (const CompressorSpec& spec : kind_specs(CompressorKind{}))
    if (spec.kind != CompressorKind::kTopK) out.emplace_back(spec.name);
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllKinds, AddMessage, ::testing::ValuesIn(kinds()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dcsde
