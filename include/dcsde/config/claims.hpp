// The papers' claims as runnable experiments (`dcsde reproduce`, docs/RESULTS.md).
//
// experiments/reproduce/claims.toml lists them, in the order of the papers:
//   [[claim]]
//   name = "noise_resilience"                  # what `dcsde reproduce NAME` takes
//   paper = "AISTATS 2025, Thm 3 and Thm 4"    # where the claim is made
//   statement = "..."                         # the claim, in one or two sentences
//   experiments = ["noise_gaussian.toml", ...] # experiment files beside claims.toml
//   analysis = "noise_resilience"              # the function of scripts/reproduce.py that draws
//                                              # the figures and decides the verdict
//   quick = ["method.steps=200", ...]          # --quick: overrides (--set syntax) for a smoke run
//   ranks = 2                                  # optional: run the experiments over MPI
//                                              # (mpirun -np 2 dcsde run ... --backend mpi)
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dcsde {

struct Claim {
  std::string name, paper, statement, analysis;
  std::vector<std::filesystem::path> experiments;  // absolute or relative to the manifest
  std::vector<std::string> quick;
  int ranks = 0;  // > 0: the experiments run under mpirun with this many ranks
};

// Reads and checks a manifest: unknown keys, missing fields, duplicate names and missing
// experiment files are ConfigErrors naming file:line.
std::vector<Claim> load_claims(const std::filesystem::path& manifest);

}  // namespace dcsde
