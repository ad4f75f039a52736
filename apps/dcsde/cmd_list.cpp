// dcsde list: every objective, noise model, compressor and method, and every key of a file.
#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/sde/integrator.hpp"

namespace dcsde::cli {
namespace {

template <typename Infos>
void print_kinds(const char* title, const char* key, const Infos& infos) {
  std::printf("%s (%s):\n", title, key);
  for (const auto& info : infos)
    std::printf("  %-18s %s\n", info.kind.c_str(), info.meaning.c_str());
  std::printf("\n");
}

}  // namespace

int list(bool markdown) {
  if (markdown) {
    std::printf("| section | key | type | default | meaning |\n|---|---|---|---|---|\n");
    for (const KeyInfo& k : experiment_keys())
      std::printf("| `[%s]` | `%s` | %s | %s | %s |\n", k.section.c_str(), k.key.c_str(),
                  k.type.c_str(), k.default_value.c_str(), k.meaning.c_str());
    return 0;
  }
  print_kinds("Objectives", "problem.objective", objective_kinds());
  print_kinds("Noise models", "noise.kind", noise_kinds());
  print_kinds("Compressors", "compressor.kind", compressor_kinds());
  print_kinds("Methods", "method.kind", method_kinds());
  print_kinds("SDE integrators", "sde.integrator", integrator_kinds());
  std::printf(
      "Schedules (method.schedule):\n  constant           eta_k = 1\n"
      "  inv_sqrt           eta_k = 1/sqrt(k+1)\n"
      "  piecewise          eta_k from method.schedule_points = [[step, multiplier], ...]\n\n");
  std::printf(
      "Backends (dcsde run --backend):\n"
      "  local              N agents simulated in one process (OpenMP over replicas)\n");
#ifdef DCSDE_HAVE_MPI
  std::printf(
      "  mpi                available: agents spread over the ranks of mpirun, compressed "
      "messages on the wire\n\n");
#else
  std::printf(
      "  mpi                unavailable: this dcsde was built without MPI (install libopenmpi-dev "
      "openmpi-bin and rebuild)\n\n");
#endif
  std::printf("Keys of an experiment file:\n");
  std::string section;
  for (const KeyInfo& k : experiment_keys()) {
    if (k.section != section) {
      section = k.section;
      std::printf("  [%s]\n", section.c_str());
    }
    std::printf("    %-16s %-16s default %-22s %s\n", k.key.c_str(), k.type.c_str(),
                k.default_value.c_str(), k.meaning.c_str());
  }
  return 0;
}

}  // namespace dcsde::cli
