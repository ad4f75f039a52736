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
//   criterion = "..."                          # optional: the verdict's rule, written before
//                                              # the run (shown in RESULTS.md)
//   scope = "paper"                            # optional: "paper" (default), a claim the
//                                              # papers make, or "beyond" (beyond the papers);
//                                              # RESULTS.md's tally counts the two apart
//   [[claim.thresholds]]                       # optional, repeated: a stability limit found
//   name = "quartic_omega1"                    # by `dcsde threshold`'s driver, in process,
//   experiment = "limits_quartic.toml"         # into the claim's folder NAME/threshold.json
//   key = "method.lr"                          # (the analysis gets these folders after the
//   sde = ["first_order", "modified", "stable"]#  experiments' ones); --quick's overrides
//   criteria = ["mean_square", "almost_sure"]  #  apply after `set`. A process without a limit
//   set = ["compressor.k=5"]                   #  in the bracket is recorded as absent.
//   low = 0.02                                 # the bracket: both or neither
//   high = 8.0
//   tolerance = 0.01                           # relative width of the final bracket
//   quick = false                              # optional: --quick skips the entry (e.g. a
//                                              # network, too slow for a smoke run)
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dcsde/run/growth.hpp"
#include "dcsde/sde/sde.hpp"

namespace dcsde {

// One [[claim.thresholds]] entry: the arguments of `dcsde threshold` (config/threshold.hpp).
struct ClaimThreshold {
  std::string name;                  // its folder in the claim's results; unique in the claim
  std::filesystem::path experiment;  // relative to the manifest
  std::string key;
  std::vector<SdeModel> sde;
  std::vector<StabilityCriterion> criteria;  // default mean_square
  std::vector<std::string> sets;             // --set overrides, before --quick's
  std::optional<double> low, high;
  double tolerance = 1e-2;
  bool quick = true;  // false: `dcsde reproduce --quick` skips this entry
};

struct Claim {
  std::string name, paper, statement, analysis;
  std::string criterion;        // the verdict's rule as written before the run; may be empty
  std::string scope = "paper";  // "paper" (the papers claim it) or "beyond" (beyond the papers)
  std::vector<std::filesystem::path> experiments;  // absolute or relative to the manifest
  std::vector<ClaimThreshold> thresholds;
  std::vector<std::string> quick;
  int ranks = 0;  // > 0: the experiments run under mpirun with this many ranks
};

// Reads and checks a manifest: unknown keys, missing fields, duplicate names, missing
// experiment files and malformed threshold entries are ConfigErrors naming file:line.
std::vector<Claim> load_claims(const std::filesystem::path& manifest);

}  // namespace dcsde
