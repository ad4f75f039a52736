// dcsde validate FILE: parse and check every point, run nothing, write nothing.
#include <cstdio>

#include "commands.hpp"
#include "dcsde/config/experiment.hpp"

namespace dcsde::cli {

int validate(const std::string& file, const std::vector<std::string>& sets) {
  const ExperimentPlan plan = load_experiment(file, sets);
  std::printf("%s: valid (%zu point%s)\n", file.c_str(), plan.points.size(),
              plan.points.size() == 1 ? "" : "s");
  return 0;
}

}  // namespace dcsde::cli
