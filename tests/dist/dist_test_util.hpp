// Helpers of the dist tests: run the dcsde executable (optionally under mpirun) and compare
// results folders.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "../support/files.hpp"

namespace dcsde::testing_dist {

namespace fs = std::filesystem;

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr
  double seconds = 0.0;
};

// Runs a shell command, capturing its output; `timeout` bounds it so that a hang fails the test
// instead of stalling CTest.
inline Result shell(const std::string& command, int timeout_seconds = 60) {
  const std::string line =
      "timeout -k 5 " + std::to_string(timeout_seconds) + " " + command + " 2>&1";
  Result r;
  const auto start = std::chrono::steady_clock::now();
  FILE* pipe = popen(line.c_str(), "r");
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe) != nullptr) r.output += buffer;
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// dcsde ARGS in this process's environment.
inline Result dcsde(const std::string& args) {
  return shell(std::string(DCSDE_BINARY) + " " + args);
}

#ifdef DCSDE_MPIEXEC
// `env` dcsde ARGS under mpirun with `ranks` ranks on this machine. What CI needs: running as
// root in a container (the two OMPI_ALLOW_RUN_AS_ROOT variables), more ranks than cores
// (--oversubscribe), and no single-copy (CMA) transport, which container seccomp profiles forbid.
inline Result mpirun(int ranks, const std::string& args, const std::string& env = "") {
  return shell(
      "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "OMPI_MCA_btl_vader_single_copy_mechanism=none " +
      env + " " + DCSDE_MPIEXEC + " --oversubscribe -np " + std::to_string(ranks) + " " +
      DCSDE_BINARY + " " + args);
}
#endif

using dcsde::testing::read_file;

// A summary without what legitimately differs between backends and runs: timings, and the
// communication record that only the MPI backend writes.
inline nlohmann::json without_timing(const nlohmann::json& j) {
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : j.items())
      if (key != "wall_seconds" && key != "cpu_seconds" && key != "communication")
        out[key] = without_timing(value);
    return out;
  }
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : j) out.push_back(without_timing(v));
    return out;
  }
  return j;
}

// sweep.csv without its last column (wall_seconds).
inline std::string without_last_column(const std::string& csv) {
  std::string out;
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);) out += line.substr(0, line.rfind(',')) + "\n";
  return out;
}

// Every file of `expected` is in `actual` with the same content: byte for byte, except
// summary.json (without timing) and sweep.csv (without wall_seconds); and nothing more.
inline void expect_same_results(const fs::path& expected, const fs::path& actual) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(expected)) {
    if (!entry.is_regular_file()) continue;
    const fs::path rel = fs::relative(entry.path(), expected);
    ++files;
    ASSERT_TRUE(fs::exists(actual / rel)) << rel;
    const std::string a = read_file(entry.path()), b = read_file(actual / rel);
    if (rel.filename() == "summary.json") {
      EXPECT_EQ(without_timing(nlohmann::json::parse(a)), without_timing(nlohmann::json::parse(b)))
          << rel;
    } else if (rel.filename() == "sweep.csv") {
      EXPECT_EQ(without_last_column(a), without_last_column(b)) << rel;
    } else {
      EXPECT_TRUE(a == b) << rel << " differs";
    }
  }
  int actual_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(actual))
    actual_files += entry.is_regular_file() ? 1 : 0;
  EXPECT_EQ(actual_files, files);
  EXPECT_GT(files, 0);
}

// A fresh folder per test (tests/support/files.hpp), and whether results were left in it.
class TempDirTest : public dcsde::testing::TempDirTest {
 protected:
  TempDirTest() : dcsde::testing::TempDirTest("dist") {}
  // Whether anything named out* (results or a staging folder) exists in the test folder.
  bool any_results(const std::string& prefix = "out") const {
    for (const auto& entry : fs::directory_iterator(dir_))
      if (entry.path().filename().string().rfind(prefix, 0) == 0) return true;
    return false;
  }
};

#ifdef DCSDE_MPIEXEC
// One experiment file (exp.toml in the test folder) run locally and under mpirun.
class MpiRun : public TempDirTest {
 protected:
  // Writes `toml` to exp.toml and runs it locally into out_local.
  Result try_local(const std::string& toml, const std::string& extra = "") {
    const std::string file = write("exp.toml", toml);
    return dcsde("run " + file + " --out " + (dir_ / "out_local").string() + " --quiet " + extra);
  }
  // The same, expecting success; returns the results folder.
  fs::path run_local(const std::string& toml, const std::string& extra = "") {
    const Result r = try_local(toml, extra);
    EXPECT_EQ(r.status, 0) << r.output;
    return dir_ / "out_local";
  }
  // exp.toml with --backend mpi on `ranks` ranks into the folder `name`.
  Result run_mpi(int ranks, const std::string& name, const std::string& extra = "",
                 const std::string& env = "") {
    return mpirun(ranks,
                  "run " + (dir_ / "exp.toml").string() + " --out " + (dir_ / name).string() +
                      " --quiet --backend mpi " + extra,
                  env);
  }
  // exp.toml with --backend mpi without mpirun: a one-rank MPI job (singleton).
  Result singleton(const std::string& name) {
    return shell("env OMPI_MCA_btl_vader_single_copy_mechanism=none " + std::string(DCSDE_BINARY) +
                 " run " + (dir_ / "exp.toml").string() + " --out " + (dir_ / name).string() +
                 " --quiet --backend mpi");
  }
  static nlohmann::json summary(const fs::path& file) {
    return nlohmann::json::parse(read_file(file));
  }
};
#endif

}  // namespace dcsde::testing_dist
