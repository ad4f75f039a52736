// The papers' convergence bound of an experiment: poster Thm 3 for DSGD and DCSGD, Thm 4 for
// DSignSGD (papers.md 0), with every input read off the experiment (objective constants,
// f(x0) - f*, noise, compressor, agents, batch, learning rate). When an assumption of the
// theorem does not hold, the bound is refused with the reason (`bound.holds == false`).
#pragma once

#include <string>

#include "dcsde/config/experiment.hpp"
#include "dcsde/theory/bounds.hpp"

namespace dcsde {

struct ExperimentBound {
  std::string theorem;  // "Thm 3 (DCSGD)", "Thm 4 (DSignSGD)" or "none"
  ConvergenceBound bound;
};

ExperimentBound experiment_bound(const Experiment& experiment);

}  // namespace dcsde
