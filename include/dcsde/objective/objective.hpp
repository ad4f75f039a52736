// Objective: the function f the agents minimise, evaluated on a batch of states.
//
// Every call takes a d x R block X (one column per replica) and fills one output per column.
// Implementations are `final` and loop over the block with Eigen expressions; there is one
// virtual call per block, never per coordinate (STYLE.md "Key abstractions").
//
// Contract (checked for every registered objective by tests/objective/objective_test.cpp):
//   value(X)(r)      = f(X.col(r))
//   gradient(X).col  = grad f, matching central differences of value
//   hvp(X, V).col(r) = Hess f(X.col(r)) V.col(r), matching central differences of gradient
//                      (exact: closed form, never finite differences)
//   column independence: the outputs of column r depend on the inputs of column r only, bit for
//                      bit, whatever the block width and the column's place in it (so a replica's
//                      path does not depend on the block size or thread count)
//   constants():       every declared inequality holds at every x (tested at random points)
// Outputs must not alias inputs. Calls are const and safe to run concurrently on different blocks.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dcsde/core/error.hpp"
#include "dcsde/core/kind.hpp"
#include "dcsde/core/rng.hpp"
#include "dcsde/core/types.hpp"
#include "dcsde/objective/network.hpp"

namespace dcsde {

// The constants the convergence bounds need (papers.md sections 7.4, 7.5, 8.1). A constant that
// does not exist for an objective (e.g. mu of the quartic, which is not PL) is empty.
struct ObjectiveConstants {
  std::optional<double> L;   // lambda_max(Hess f) <= L everywhere (L-smooth)
  std::optional<double> mu;  // ||grad f||^2 >= 2 mu (f - f*)   (mu-PL)
  std::optional<double> L0;  // ||Hess f|| <= L0 + L1 ||grad f||   ((L0,L1)-smooth)
  std::optional<double> L1;
  std::optional<double> trace_hessian_max;  // sup tr Hess f (L_tau of papers.md 7.5)
  std::optional<double> f_star;             // min f, where known
};

class Objective {
 public:
  virtual ~Objective() = default;

  virtual Index dim() const = 0;
  virtual std::string name() const = 0;

  // f of each column: values(r) = f(X.col(r)). X is d x R, values is 1 x R.
  virtual void value(const ConstBatchRef& X, RowVectorRef values) const = 0;
  // G.col(r) = grad f(X.col(r)). G has the shape of X.
  virtual void gradient(const ConstBatchRef& X, BatchRef G) const = 0;
  // HV.col(r) = Hess f(X.col(r)) * V.col(r).
  virtual void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const = 0;

  virtual ObjectiveConstants constants() const = 0;

  // Objectives with their own data (torch/) can give each agent a minibatch gradient
  // (noise.kind = "minibatch"): G.col(c) = the gradient of the mean loss over `batch` examples
  // drawn from ctx.stream(c, Purpose::kNoise), so each (replica, agent, step) has its own batch.
  virtual bool has_minibatches() const { return false; }
  virtual void minibatch_gradient(const ConstBatchRef& X, const DrawContext& ctx, Index batch,
                                  BatchRef G) const;

  // The objective's own starting point (a network's seeded initialisation); empty: use x0.
  virtual std::optional<Vector> initial_point() const { return std::nullopt; }

  // Held-out metrics of one state (e.g. test_loss, test_accuracy, test_perplexity), reported
  // in summary.json at the end of a run; none for the analytic objectives.
  virtual std::vector<std::pair<std::string, double>> evaluate(const ConstVectorRef& x) const {
    (void)x;
    return {};
  }
};

// Options of every objective; each kind reads the keys it documents in
// docs/reference/objectives.md (TOML table [problem], `kind` is the key `objective`) and ignores
// the others. validate() states the constraints.
// The objective kinds; their specs are in kind_specs(ObjectiveKind) below.
enum class ObjectiveKind {
  kQuadratic,
  kQuadraticRotated,
  kQuartic,
  kCosh,
  kLogCosh,
  kLogistic,
  kTorch
};

struct ObjectiveOptions {
  ObjectiveKind kind = ObjectiveKind::kQuadratic;
  Index dim = 10;
  std::vector<double> eigenvalues;  // explicit spectrum (quadratic kinds); else log-spaced:
  double eigen_min = 0.1;           // h_0 = eigen_min, ..., h_{d-1} = eigen_max (spectrum())
  double eigen_max = 10.0;
  Index samples = 1000;    // logistic: size of the synthetic dataset
  double l2 = 1e-3;        // logistic: ridge term (l2/2)||x||^2, makes it mu-PL with mu = l2
  std::uint64_t seed = 0;  // problem data (rotation, dataset): Philox stream Purpose::kProblem
  NetworkOptions network;  // torch: the model and its data (objective/network.hpp)
};

// The [problem] keys besides objective, dim, x0 and seed, as bits of ObjectiveSpec::keys.
enum ObjectiveKey : unsigned {
  kObjectiveSpectrum = 1u,  // eigenvalues or eigen_min, eigen_max
  kObjectiveData = 2u,      // samples, l2
  kObjectiveNetwork = 4u,   // model, dataset, ... (objective/network.hpp); dim and x0 come from it
};

// One objective kind, declared once (core/kind.hpp).
struct ObjectiveSpec {
  ObjectiveKind kind;
  std::string_view name, meaning;
  unsigned keys;  // the ObjectiveKey bits it reads
  Index max_dim;  // the largest dim it takes (0: no limit beyond the others)
  std::unique_ptr<Objective> (*make)(const ObjectiveOptions&);
};
std::span<const ObjectiveSpec> kind_specs(ObjectiveKind);

// Checks the options; on a violation returns the error, about its key, worded like
//   problem.eigen_min = -1. Violated constraint: eigen_min > 0.
std::optional<ConfigError> validate(const ObjectiveOptions& options);

// Builds the objective of options.kind. Throws ConfigError with validate()'s message if the
// options are invalid.
std::unique_ptr<Objective> make_objective(const ObjectiveOptions& options);

}  // namespace dcsde
