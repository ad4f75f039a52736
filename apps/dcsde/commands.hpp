// The subcommands of the dcsde CLI, one file each; main.cpp only wires them to CLI11.
#pragma once

#include <optional>
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
  std::string resume;               // the results folder of an interrupted run (checkpoints)
  std::string backend = "local";    // local | mpi (agents over MPI ranks, src/dist)
  std::string exchange = "gather";  // mpi: gather (bit-identical) | allreduce (dsgd, rounding)
  int exit_after_checkpoints = 0;   // testing aid, hidden: see ExperimentRequest
};

struct ScaleArgs {
  std::string method = "dcsgd";  // dcsgd | dsignsgd
  std::string reference = "uncompressed";
  double omega = 0.0, eta = 1.0, batch = 1.0, agents = 1.0;
  std::optional<double> kappa, delta, alpha, beta;
  std::string verify;  // experiment file to run as the base, and rescaled
  std::vector<std::string> sets;
};

struct ReproduceArgs {
  std::string name;    // a claim, or "all"
  std::string out;     // empty: results/reproduce
  std::string claims;  // the manifest; empty: experiments/reproduce/claims.toml
  bool list = false;
  bool quick = false;  // each claim's `quick` overrides: a smoke run of about a minute
  bool quiet = false;
  int threads = -1;
};

struct ThresholdArgs {
  std::string file;
  std::string key;                  // the numeric key whose limit is sought, e.g. method.lr
  std::optional<double> low, high;  // the bracket; neither: searched from the file's value
  std::string sde;                  // comma-separated SDE models to probe besides the optimizer
  std::string criterion = "mean_square";  // mean_square | almost_sure | both
  double tolerance = 1e-3;                // relative width of the final bracket
  std::string out;                        // empty: results/<name>_threshold_<key>
  std::vector<std::string> sets;
  bool quiet = false;
  bool no_plot = false;
};

int run(const RunArgs& args);
int threshold(const ThresholdArgs& args);
int reproduce(const ReproduceArgs& args);
int scale(const ScaleArgs& args);
int validate(const std::string& file, const std::vector<std::string>& sets);
int list(bool markdown);
int bound(const std::string& file, const std::string& out, const std::vector<std::string>& sets);

}  // namespace dcsde::cli
