// The --backend option as a user meets it, in builds with and without MPI.
#include "dist_test_util.hpp"

namespace dcsde::testing_dist {
namespace {

const char* kSmall = R"([problem]
objective = "quadratic"
dim = 6
[agents]
count = 2
[method]
kind = "dsgd"
steps = 10
[run]
replicas = 4
[output]
plot = false
)";

class Backend : public TempDirTest {};

TEST_F(Backend, ListSaysWhetherMpiIsAvailable) {
  const Result r = dcsde("list");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("  local "), std::string::npos) << r.output;
#ifdef DCSDE_HAVE_MPI
  EXPECT_NE(r.output.find("  mpi                available"), std::string::npos) << r.output;
#else
  EXPECT_NE(r.output.find("  mpi                unavailable"), std::string::npos) << r.output;
#endif
}

TEST_F(Backend, ExchangeNeedsTheMpiBackend) {
  const std::string file = write("exp.toml", kSmall);
  const Result r =
      dcsde("run " + file + " --out " + (dir_ / "out").string() + " --quiet --exchange allreduce");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--exchange allreduce applies to --backend mpi only"), std::string::npos)
      << r.output;
  EXPECT_FALSE(any_results());
}

#ifndef DCSDE_HAVE_MPI
// Without MPI in the build the backend is refused with the way to get it, and nothing is written.
TEST_F(Backend, MpiBackendWithoutMpiSaysHowToGetIt) {
  const std::string file = write("exp.toml", kSmall);
  const Result r =
      dcsde("run " + file + " --out " + (dir_ / "out").string() + " --quiet --backend mpi");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("this dcsde was built without MPI; install libopenmpi-dev openmpi-bin "
                          "(scripts/setup --with-mpi) and rebuild"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(any_results());
}
#endif

}  // namespace
}  // namespace dcsde::testing_dist
