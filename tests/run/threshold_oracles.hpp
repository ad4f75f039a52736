// The exact oracles of `dcsde threshold` (config/threshold.hpp), shared by threshold_test.cpp and
// early_stop_test.cpp.
#pragma once

namespace dcsde::testing_oracles {

// GD on f = 1/2 sum h_j x_j^2: x_j' = (1 - eta h_j) x_j, stable iff eta <= 2/h_max (a 2-cycle at
// equality: bounded, slope 0, stable).
inline const char* kGd = R"([experiment]
name = "gd"
[problem]
objective = "quadratic"
dim = 4
eigenvalues = [0.5, 1.0, 2.0, 4.0]
x0 = 1.0
[method]
kind = "dsgd"
lr = 0.1
steps = 200
[run]
replicas = 1
)";

// GD on the quartic f = x^4/4 from x0: x' = x (1 - eta x^2) = x g(x). If eta x^2 < 2 then
// |g| < 1, |x| shrinks and eta x'^2 < 2 again: it converges. If eta x^2 > 2 then |g| > 1, |x|
// grows and eta x'^2 > 2 again: it diverges. At eta x0^2 = 2, g = -1: the 2-cycle x0, -x0. So the
// limit of method.lr is 2/x0^2 (0.5 from x0 = 2) and that of problem.x0 is sqrt(2/eta) (papers.md
// 8.2; theory/stability.hpp gd_quartic_escape_radius_sq).
inline const char* kQuartic = R"([experiment]
name = "quartic"
[problem]
objective = "quartic"
dim = 1
x0 = 2.0
[method]
kind = "dsgd"
lr = 0.1
steps = 300
[run]
replicas = 1
)";

// DCSGD, N = 4 agents, Bernoulli(p = 0.8) (omega = 1/p - 1 = 0.25), lambda = 1, no noise.
// Mean square: E x^2 is multiplied by A = (1 - eta)^2 + eta^2 omega / N per step (papers.md 9),
// so the limit is eta* = 2N / (N + omega) = 8/4.25 = 1.88235.
inline const char* kDcsgd = R"([experiment]
name = "dcsgd"
[problem]
objective = "quadratic"
dim = 1
eigenvalues = [1.0]
x0 = 1.0
[agents]
count = 4
[compressor]
kind = "bernoulli"
p = 0.8
[method]
kind = "dcsgd"
lr = 1.0
steps = 10
[run]
replicas = 16384
seed = 3
)";

}  // namespace dcsde::testing_oracles
