// Files and folders of tests that run the CLI: a fresh folder per test, reading results back.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace dcsde::testing {

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A results file without its lines naming wall_seconds or cpu_seconds (the only values allowed to
// differ between two runs of the same experiment).
inline std::string without_timing_lines(const std::string& text) {
  std::stringstream in(text), out;
  for (std::string line; std::getline(in, line);)
    if (line.find("wall_seconds") == std::string::npos &&
        line.find("cpu_seconds") == std::string::npos)
      out << line << '\n';
  return out.str();
}

// A fresh folder per test (<tmp>/dcsde_<prefix>_<test name>), removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  explicit TempDirTest(std::string prefix = "test") : prefix_(std::move(prefix)) {}
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dcsde_" + prefix_ + "_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

}  // namespace dcsde::testing
