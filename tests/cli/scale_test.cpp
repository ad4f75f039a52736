// dcsde scale: the poster's table row by row (papers.md 0; mapping in docs/theory.md), and the
// DSignSGD rule verified by simulation.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "../support/command.hpp"

namespace {

using Output = dcsde::testing::CommandResult;
using dcsde::testing::run_dcsde;

// The value after the last '=' of the "solved:" line.
double solved(const Output& out) {
  const auto line = out.output.find("solved:");
  EXPECT_NE(line, std::string::npos) << out.output;
  const std::string rest = out.output.substr(line, out.output.find('\n', line) - line);
  return std::stod(rest.substr(rest.rfind('=') + 1));
}

TEST(PosterTable, EveryRowThroughTheCli) {
  const double omega = 3.0, beta = 0.5, kappa = 1.5, delta = 2.5, b = 0.2;
  auto run = [](const std::string& args) {
    const Output out = run_dcsde("scale --method dcsgd --omega 3 " + args);
    EXPECT_EQ(out.status, 0) << out.output;
    return solved(out);
  };
  // 1: alpha = 1 + beta omega (CR up => agents up)
  EXPECT_NEAR(run("--kappa 1 --delta 1 --beta 0.5"), 1 + beta * omega, 1e-9);
  // 2: alpha = kappa (1 + omega) (LR up => agents up)
  EXPECT_NEAR(run("--kappa 1.5 --delta 1 --beta 1"), kappa * (1 + omega), 1e-9);
  // 3: alpha = (1 + omega)/(1 + b omega) (BS down => agents up), delta = 1 + b omega
  EXPECT_NEAR(run("--kappa 1 --beta 1 --delta " + std::to_string(1 + b * omega)),
              (1 + omega) / (1 + b * omega), 1e-6);
  // 4: kappa = (1 + omega)/(1 + beta omega) (CR up => LR down), compressed reference
  EXPECT_NEAR(run("--reference compressed --alpha 1 --delta 1 --beta 0.5"),
              (1 + omega) / (1 + beta * omega), 1e-9);
  // 5: delta = 1 + beta omega (CR up => BS up)
  EXPECT_NEAR(run("--kappa 1 --alpha 1 --beta 0.5"), 1 + beta * omega, 1e-9);
  // 6: kappa = delta/(1 + omega) (BS up => LR up)
  EXPECT_NEAR(run("--alpha 1 --beta 1 --delta 2.5"), delta / (1 + omega), 1e-9);
}

TEST(PosterTable, DsignsgdKeepsKappaOverAlphaSqrtDelta) {
  const Output out = run_dcsde("scale --method dsignsgd --alpha 2 --delta 4");
  ASSERT_EQ(out.status, 0) << out.output;
  EXPECT_NEAR(solved(out), 4.0, 1e-12);  // kappa = alpha sqrt(delta)
}

TEST(PosterTable, BadCombinationsAreErrors) {
  EXPECT_NE(run_dcsde("scale --method dcsgd --omega 3 --kappa 1 --delta 1").status,
            0);  // two given
  EXPECT_NE(run_dcsde("scale --method dsignsgd --alpha 2 --delta 4 --beta 2").status, 0);
  EXPECT_NE(run_dcsde("scale --method sgd --alpha 2").status, 0);
}

// The DSignSGD rule kappa = alpha sqrt(delta) keeps the asymptotic loss within 10 % on a
// quadratic under heavy-tailed noise (2x agents, 4x batch, 4x learning rate).
TEST(ScaleVerify, DsignsgdRuleKeepsTheAsymptoticLossWithinTenPercent) {
  const std::string file = ::testing::TempDir() + "dcsde_scale_verify.toml";
  std::ofstream(file) << R"([problem]
objective = "quadratic"
dim = 20
eigen_min = 0.5
eigen_max = 2.0
x0 = 0.5
[noise]
kind = "student_t"
nu = 1.5
sigma = 2.0
[agents]
count = 2
[method]
kind = "dsignsgd"
lr = 0.005
steps = 4000
[run]
replicas = 200
record_every = 20
)";
  const Output out = run_dcsde("scale --method dsignsgd --alpha 2 --delta 4 --verify " + file);
  ASSERT_EQ(out.status, 0) << out.output;
  const auto at = out.output.find("rescaled / base = ");
  ASSERT_NE(at, std::string::npos) << out.output;
  const double ratio = std::stod(out.output.substr(at + 18));
  EXPECT_NEAR(ratio, 1.0, 0.10) << out.output;
}

}  // namespace
