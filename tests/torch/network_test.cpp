// objective = "torch": the four models train, the flat parameter vector round-trips exactly, the
// Objective contract holds in float64 (finite differences), minibatches are named by their
// streams, and missing data or impossible shapes give clear errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "datasets.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/core/rng.hpp"
#include "network_objective.hpp"

namespace dcsde::torch_networks {
namespace {

bool have_datasets() { return fashion_mnist_installed() && jane_austen_installed(); }

#define SKIP_WITHOUT_DATASETS()                                                             \
  if (!have_datasets())                                                                     \
  GTEST_SKIP() << "datasets missing: install dataset-fashion-mnist and r-cran-janeaustenr " \
                  "(scripts/setup --with-torch)"

ObjectiveOptions small(const std::string& model) {
  ObjectiveOptions o;
  o.kind = ObjectiveKind::kTorch;
  o.seed = 7;
  o.network.model = model;
  o.network.dataset = model == "gpt" ? "text" : "fashion_mnist";
  o.network.width = model == "mlp" ? 16 : model == "resnet" ? 4 : 16;
  o.network.depth = 1;
  o.network.heads = 2;
  o.network.context = 8;
  o.network.full_batch = 32;
  o.network.test_examples = 64;
  return o;
}

double loss_at(const NetworkObjective& f, const Vector& x) {
  RowVector v(1);
  f.value(x, v);
  return v(0);
}

class EveryModel : public ::testing::TestWithParam<std::string> {};

// Gradient descent on the fixed batch behind f lowers f: the network, its loss and its autograd
// gradient fit together (a sign or indexing error would not descend).
TEST_P(EveryModel, AFewGradientStepsLowerTheLossOnTheFixedBatch) {
  SKIP_WITHOUT_DATASETS();
  const NetworkObjective f(small(GetParam()));
  Vector x = *f.initial_point();
  ASSERT_EQ(x.size(), f.dim());
  const double start = loss_at(f, x);
  ASSERT_TRUE(std::isfinite(start));
  Vector g(f.dim());
  const double lr = GetParam() == "gpt" ? 0.5 : 0.1;
  for (int step = 0; step < 10; ++step) {
    f.gradient(x, g);
    x -= lr * g;
  }
  const double end = loss_at(f, x);
  EXPECT_LT(end, 0.9 * start) << GetParam() << ": loss " << start << " -> " << end;
}

// Writing a state and reading it back is the identity: exactly in float64; in float32 for any
// state made of float32 values (the network's own state, or one rounded by a step).
TEST_P(EveryModel, FlatParameterVectorRoundTripsExactly) {
  SKIP_WITHOUT_DATASETS();
  ObjectiveOptions o = small(GetParam());
  o.network.precision = "float64";
  const NetworkObjective f64(o);
  Philox rng(1, 0, 0, Purpose::kTest, 0);
  Vector x(f64.dim());
  for (Index i = 0; i < x.size(); ++i) x(i) = rng.normal();
  f64.write_parameters(x);
  EXPECT_EQ(f64.read_parameters(), x);

  const NetworkObjective f32(small(GetParam()));
  Vector y = *f32.initial_point();
  for (Index i = 0; i < y.size(); ++i) y(i) = static_cast<float>(y(i) + 0.01 * rng.normal());
  f32.write_parameters(y);
  EXPECT_EQ(f32.read_parameters(), y);
}

// Same seed, same network; the initial point is the network's own initialisation.
TEST_P(EveryModel, InitialisationIsReproducible) {
  SKIP_WITHOUT_DATASETS();
  const NetworkObjective a(small(GetParam())), b(small(GetParam()));
  EXPECT_EQ(*a.initial_point(), *b.initial_point());
  ObjectiveOptions other = small(GetParam());
  other.seed = 8;
  EXPECT_NE(*NetworkObjective(other).initial_point(), *a.initial_point());
}

// Held-out metrics: accuracy in [0, 1] for images, perplexity = exp(test loss) for text.
TEST_P(EveryModel, EvaluateReportsHeldOutMetrics) {
  SKIP_WITHOUT_DATASETS();
  const NetworkObjective f(small(GetParam()));
  const auto metrics = f.evaluate(*f.initial_point());
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[0].first, "test_loss");
  if (GetParam() == "gpt") {
    EXPECT_EQ(metrics[1].first, "test_perplexity");
    EXPECT_NEAR(metrics[1].second, std::exp(metrics[0].second), 1e-9 * metrics[1].second);
  } else {
    EXPECT_EQ(metrics[1].first, "test_accuracy");
    EXPECT_GE(metrics[1].second, 0.0);
    EXPECT_LE(metrics[1].second, 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, EveryModel, ::testing::Values("mlp", "resnet", "vit", "gpt"),
                         [](const auto& info) { return info.param; });

// In float64 the gradient and the Hessian-vector product match central differences of f and of
// the gradient (errors O(h^2) plus rounding).
TEST(NetworkObjective, GradientAndHvpMatchFiniteDifferencesInFloat64) {
  SKIP_WITHOUT_DATASETS();
  ObjectiveOptions o = small("mlp");
  o.network.width = 6;
  o.network.precision = "float64";
  const NetworkObjective f(o);
  const Vector x = *f.initial_point();
  Vector g(f.dim()), hv(f.dim()), gp(f.dim()), gm(f.dim());
  f.gradient(x, g);
  Philox rng(2, 0, 0, Purpose::kTest, 0);
  Vector v(f.dim());
  for (Index i = 0; i < v.size(); ++i) v(i) = rng.normal();
  v /= v.norm();
  const double h = 1e-5;
  const double directional = (loss_at(f, x + h * v) - loss_at(f, x - h * v)) / (2 * h);
  EXPECT_NEAR(g.dot(v), directional, 1e-7 * (1 + std::abs(directional)));
  f.hvp(x, v, hv);
  f.gradient(x + h * v, gp);
  f.gradient(x - h * v, gm);
  const Vector fd = (gp - gm) / (2 * h);
  EXPECT_LT((hv - fd).norm(), 1e-6 * (1 + fd.norm())) << "|Hv| = " << hv.norm();
}

// Each (replica, agent, step) draws its own minibatch from its noise stream: the same name gives
// the same gradient, another agent another one; columns are independent replicas.
TEST(NetworkObjective, MinibatchesAreNamedByTheirStreams) {
  SKIP_WITHOUT_DATASETS();
  const NetworkObjective f(small("mlp"));
  Batch X = f.initial_point()->replicate(1, 2);
  Batch a(f.dim(), 2), b(f.dim(), 2), c(f.dim(), 2);
  f.minibatch_gradient(X, DrawContext{5, 0, 0, 3}, 8, a);
  f.minibatch_gradient(X, DrawContext{5, 0, 0, 3}, 8, b);
  f.minibatch_gradient(X, DrawContext{5, 0, 1, 3}, 8, c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a.col(0), c.col(0));
  EXPECT_NE(a.col(0), a.col(1)) << "two replicas drew the same minibatch";
}

TEST(NetworkObjective, MissingDatasetNamesThePackage) {
  ObjectiveOptions o = small("mlp");
  o.network.data_path = "/nonexistent/fashion-mnist";
  try {
    NetworkObjective f(o);
    FAIL() << "no error for a missing dataset";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("/nonexistent/fashion-mnist"), std::string::npos);
  }
  o = small("gpt");
  o.network.data_path = "/nonexistent/Rdata.rdb";
  try {
    NetworkObjective f(o);
    FAIL() << "no error for a missing corpus";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("r-cran-janeaustenr"), std::string::npos) << e.what();
  }
}

TEST(NetworkObjective, ImpossibleShapesAreConfigErrors) {
  SKIP_WITHOUT_DATASETS();
  auto error_of = [](ObjectiveOptions o) -> std::string {
    try {
      NetworkObjective f(o);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  ObjectiveOptions o = small("vit");
  o.network.heads = 3;  // does not divide width 16
  EXPECT_NE(error_of(o).find("problem.heads = 3"), std::string::npos) << error_of(o);
  o = small("vit");
  o.network.patch = 5;
  EXPECT_NE(error_of(o).find("problem.patch = 5"), std::string::npos) << error_of(o);
  o = small("gpt");
  o.network.dataset = "fashion_mnist";
  EXPECT_NE(error_of(o).find("dataset = \"text\""), std::string::npos) << error_of(o);
  o = small("mlp");
  o.network.dataset = "text";
  EXPECT_NE(error_of(o).find("problem.dataset = \"text\""), std::string::npos) << error_of(o);
  o = small("mlp");
  o.network.model = "lstm";
  EXPECT_NE(error_of(o).find("problem.model = \"lstm\""), std::string::npos) << error_of(o);
  // A state of the wrong length.
  const NetworkObjective f(small("mlp"));
  const Vector wrong = Vector::Zero(f.dim() + 1);
  EXPECT_THROW(f.write_parameters(wrong), ConfigError);
}

}  // namespace
}  // namespace dcsde::torch_networks
