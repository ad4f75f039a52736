// dcsde list: every objective, noise model, compressor and method, and every key of a file.
#include <fmt/format.h>

#include <cstdio>

#include "commands.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/sde/integrator.hpp"

namespace dcsde::cli {
namespace {

// A family's kinds, from its specs (core/kind.hpp).
template <typename Kind>
void print_kinds(const char* title, const char* key) {
  std::printf("%s (%s):\n", title, key);
  for (const auto& spec : kind_specs(Kind{}))
    std::printf("  %-18s %.*s\n", std::string(spec.name).c_str(),
                static_cast<int>(spec.meaning.size()), spec.meaning.data());
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
  print_kinds<ObjectiveKind>("Objectives", "problem.objective");
  print_kinds<NoiseKind>("Noise models", "noise.kind");
  print_kinds<CompressorKind>("Compressors", "compressor.kind");
  print_kinds<MethodKind>("Methods", "method.kind");
  print_kinds<ScheduleKind>("Schedules", "method.schedule");
  print_kinds<SignDraw>("Sign draws", "method.sign_draw");
  print_kinds<NormOf>("Norms of Eq. 15", "method.norm_of");
  print_kinds<SdeModel>("SDE models", "sde.model");
  print_kinds<IntegratorKind>("SDE integrators", "sde.integrator");
  print_kinds<LawKind>("SDE laws", "sde.law");
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
