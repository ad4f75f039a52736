// validate(): defaults pass, each violated constraint names its key and the constraint, and
// make_objective refuses invalid options with the same message [Ceres solver_test].
#include <gtest/gtest.h>

#include <limits>

#include "dcsde/core/error.hpp"
#include "dcsde/objective/objectives.hpp"
#include "objective_test_util.hpp"

namespace dcsde::testing {
namespace {

// The message of the violation, checked to be about the key it starts with.
std::string message_of(const ObjectiveOptions& o) {
  const std::optional<ConfigError> error = validate(o);
  if (!error) return "(valid)";
  const std::string message = error->what();
  EXPECT_EQ(message.rfind(error->key() + " = ", 0), 0u) << message;
  return message;
}

TEST(ObjectiveOptions, DefaultsAreValidForEveryKind) {
  for (const std::string& kind : analytic_kind_names()) {
    ObjectiveOptions o;
    o.kind = *kind_named<ObjectiveKind>(kind);
    EXPECT_EQ(message_of(o), "(valid)") << kind;
  }
}

TEST(ObjectiveOptions, EachViolatedConstraintHasItsMessage) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(message_of({.kind = ObjectiveKind::kQuartic, .dim = 0}),
            "problem.dim = 0. Violated constraint: dim >= 1.");
  EXPECT_EQ(message_of({.eigen_min = -1.0}),
            "problem.eigen_min = -1. Violated constraint: eigen_min > 0.");
  EXPECT_EQ(message_of({.eigen_min = kNaN}),
            "problem.eigen_min = nan. Violated constraint: eigen_min > 0.");
  EXPECT_EQ(message_of({.eigen_min = kInf, .eigen_max = kInf}),
            "problem.eigen_min = inf. Violated constraint: eigen_min < inf.");
  EXPECT_EQ(
      message_of({.kind = ObjectiveKind::kQuadraticRotated, .eigen_min = 2.0, .eigen_max = 1.0}),
      "problem.eigen_max = 1. Violated constraint: eigen_max >= eigen_min (= 2).");
  EXPECT_EQ(message_of({.eigen_max = kInf}),
            "problem.eigen_max = inf. Violated constraint: eigen_max < inf.");
  EXPECT_EQ(message_of({.dim = 3, .eigenvalues = {1.0, 2.0}}),
            "problem.eigenvalues = [1, 2]. Violated constraint: one eigenvalue per dimension "
            "(dim = 3).");
  EXPECT_EQ(message_of({.dim = 3, .eigenvalues = {1.0, -2.0, 3.0}}),
            "problem.eigenvalues = [1, -2, 3]. Violated constraint: 0 < eigenvalues[j] < inf for "
            "every j (eigenvalues[1] = -2).");
  EXPECT_EQ(message_of({.dim = 2, .eigenvalues = {0.0, kInf}}),
            "problem.eigenvalues = [0, inf]. Violated constraint: 0 < eigenvalues[j] < inf for "
            "every j (eigenvalues[0] = 0).");
  EXPECT_EQ(message_of({.kind = ObjectiveKind::kQuadraticRotated, .dim = kMaxRotatedDim + 1}),
            "problem.dim = 4097. Violated constraint: dim <= 4096 for quadratic_rotated.");
  EXPECT_EQ(message_of({.kind = ObjectiveKind::kLogistic, .samples = 0}),
            "problem.samples = 0. Violated constraint: samples >= 1.");
  EXPECT_EQ(message_of({.kind = ObjectiveKind::kLogistic, .l2 = -0.5}),
            "problem.l2 = -0.5. Violated constraint: l2 >= 0.");
  EXPECT_EQ(message_of({.kind = ObjectiveKind::kLogistic, .l2 = kInf}),
            "problem.l2 = inf. Violated constraint: l2 < inf.");
}

TEST(ObjectiveOptions, LongListsAreShortenedInTheMessage) {
  ObjectiveOptions o{.dim = 12, .eigenvalues = std::vector<double>(11, 1.0)};
  EXPECT_EQ(message_of(o),
            "problem.eigenvalues = [1, 1, 1, 1, 1, 1, 1, 1, ...]. Violated constraint: one "
            "eigenvalue per dimension (dim = 12).");
}

TEST(ObjectiveOptions, KeysAKindDoesNotReadAreIgnored) {
  EXPECT_EQ(
      message_of({.kind = ObjectiveKind::kQuartic, .eigen_min = -1.0, .samples = 0, .l2 = -1.0}),
      "(valid)");
  EXPECT_EQ(message_of({.kind = ObjectiveKind::kLogistic, .eigenvalues = {-1.0}}), "(valid)");
  // An explicit spectrum makes the range keys unused.
  EXPECT_EQ(message_of({.dim = 2, .eigenvalues = {1.0, 2.0}, .eigen_min = -1.0}), "(valid)");
}

TEST(ObjectiveOptions, MakeObjectiveThrowsTheValidationMessage) {
  try {
    make_objective({.kind = ObjectiveKind::kLogistic, .samples = 0});
    FAIL() << "no exception";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "problem.samples = 0. Violated constraint: samples >= 1.");
  }
}

}  // namespace
}  // namespace dcsde::testing
