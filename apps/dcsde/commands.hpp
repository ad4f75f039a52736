// The subcommands of the dcsde CLI, one file each; main.cpp only wires them to CLI11.
#pragma once

#include <string>
#include <vector>

namespace dcsde::cli {

struct RunArgs {
  std::string file;
  std::string out;   // empty: results/<experiment name>
  int threads = -1;  // -1: as in the file
  long long seed = -1;
  std::vector<std::string> sets;
  bool quiet = false;
  bool no_plot = false;
};

int run(const RunArgs& args);
int validate(const std::string& file, const std::vector<std::string>& sets);
int list(bool markdown);
int bound(const std::string& file, const std::string& out, const std::vector<std::string>& sets);

}  // namespace dcsde::cli
