// Running the built dcsde executable from a test, as a user would (tests/cli, tests/torch).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace dcsde::testing {

struct CommandResult {
  int status;          // exit status (WEXITSTATUS)
  std::string output;  // stdout and stderr together
};

// Runs a shell command line; collects its output and exit status.
inline CommandResult run_command(const std::string& command_line) {
  CommandResult r{0, ""};
  FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed: " + command_line};
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe)) r.output += buffer;
  r.status = WEXITSTATUS(pclose(pipe));
  return r;
}

// `dcsde ARGS` with the executable of this build.
inline CommandResult run_dcsde(const std::string& args) {
  return run_command(std::string(DCSDE_BINARY) + " " + args);
}

}  // namespace dcsde::testing
