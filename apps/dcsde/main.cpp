// dcsde: the command-line lab. Thin: parses arguments and calls one subcommand.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/run/interrupt.hpp"
#ifdef DCSDE_HAVE_TORCH
#include "dcsde/torch/torch.hpp"
#endif

namespace {

// dcsde run FILE | --resume DIR.
CLI::App* add_run(CLI::App& app, dcsde::cli::RunArgs& run_args) {
  CLI::App* run = app.add_subcommand("run", "Run an experiment file: curves, summary and plot");
  run->add_option("file", run_args.file, "experiment TOML file (not with --resume)")
      ->check(CLI::ExistingFile);
  run->add_option("--resume", run_args.resume,
                  "continue the interrupted run whose results folder was DIR, from its last "
                  "checkpoint (run.checkpoint_every), with bit-identical results");
  run->add_option("--out", run_args.out, "results folder (default results/<experiment name>)");
  run->add_option("--threads", run_args.threads, "OpenMP threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--seed", run_args.seed, "seed of the run's random streams")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--set", run_args.sets, "override a key: --set noise.sigma=0.5 (repeatable)");
  run->add_flag("--quiet", run_args.quiet, "no progress output");
  run->add_flag("--no-plot", run_args.no_plot, "do not draw loss.png");
  run->add_option("--backend", run_args.backend,
                  "local: one process; mpi: agents spread over the ranks of mpirun "
                  "(docs/distributed.md)")
      ->check(CLI::IsMember({"local", "mpi"}));
  run->add_option("--exchange", run_args.exchange,
                  "mpi: gather the compressed messages (bit-identical to local) or, for dsgd, "
                  "allreduce the gradients (equal up to rounding)")
      ->check(CLI::IsMember({"gather", "allreduce"}));
  // A testing aid (tests/cli, tests/torch), hidden from --help: end the process as a kill would
  // right after the N-th checkpoint, to check that --resume continues bit-identically.
  run->add_option("--exit-after-checkpoint", run_args.exit_after_checkpoints)
      ->check(CLI::PositiveNumber)
      ->group("");
  return run;
}

// dcsde threshold FILE --key KEY.
CLI::App* add_threshold(CLI::App& app, dcsde::cli::ThresholdArgs& threshold_args) {
  CLI::App* threshold = app.add_subcommand(
      "threshold", "The stability limit of a numeric key (method.lr, ...) by bisection");
  threshold->add_option("file", threshold_args.file, "experiment TOML file")
      ->required()
      ->check(CLI::ExistingFile);
  threshold->add_option("--key", threshold_args.key, "the numeric key, e.g. method.lr")->required();
  threshold->add_option("--low", threshold_args.low, "lower end of the bracket (with --high)");
  threshold->add_option("--high", threshold_args.high, "upper end of the bracket (with --low)");
  threshold->add_option("--sde", threshold_args.sde,
                        "also the SDE models, comma-separated: first_order,modified,stable");
  threshold
      ->add_option("--criterion", threshold_args.criterion,
                   "mean_square (E f grows), almost_sure (most replicas grow) or both")
      ->check(CLI::IsMember({"mean_square", "almost_sure", "both"}));
  threshold->add_option("--tolerance", threshold_args.tolerance,
                        "relative width of the final bracket (default 1e-3)");
  threshold->add_option("--out", threshold_args.out,
                        "results folder (default results/<experiment name>_threshold_<key>)");
  threshold->add_option("--set", threshold_args.sets, "override a key (repeatable)");
  threshold->add_flag("--quiet", threshold_args.quiet, "no line per probe");
  threshold->add_flag("--no-plot", threshold_args.no_plot, "do not draw threshold.png");
  return threshold;
}

// dcsde scale: the scaling rules.
CLI::App* add_scale(CLI::App& app, dcsde::cli::ScaleArgs& scale_args) {
  CLI::App* scale = app.add_subcommand(
      "scale", "Scaling rules: given three of kappa, delta, alpha, beta, solve the fourth");
  scale->add_option("--method", scale_args.method, "dcsgd or dsignsgd")
      ->check(CLI::IsMember({"dcsgd", "dsignsgd"}));
  scale->add_option("--omega", scale_args.omega, "compression rate omega of the base (dcsgd)")
      ->check(CLI::NonNegativeNumber);
  scale
      ->add_option("--reference", scale_args.reference,
                   "keep the level of uncompressed DSGD(eta, B, N) or of the compressed base")
      ->check(CLI::IsMember({"uncompressed", "compressed"}));
  scale->add_option("--kappa", scale_args.kappa, "eta -> kappa eta")->check(CLI::PositiveNumber);
  scale->add_option("--delta", scale_args.delta, "B -> delta B")->check(CLI::PositiveNumber);
  scale->add_option("--alpha", scale_args.alpha, "N -> alpha N")->check(CLI::PositiveNumber);
  scale->add_option("--beta", scale_args.beta, "omega -> beta omega (dcsgd)")
      ->check(CLI::PositiveNumber);
  scale->add_option("--eta", scale_args.eta, "base learning rate")->check(CLI::PositiveNumber);
  scale->add_option("--batch", scale_args.batch, "base batch size")->check(CLI::PositiveNumber);
  scale->add_option("--agents", scale_args.agents, "base number of agents")
      ->check(CLI::PositiveNumber);
  scale
      ->add_option("--verify", scale_args.verify,
                   "run this experiment as the base and rescaled, and compare asymptotic losses")
      ->check(CLI::ExistingFile);
  scale->add_option("--set", scale_args.sets, "override a key of the --verify file (repeatable)");
  return scale;
}

// dcsde reproduce NAME | all.
CLI::App* add_reproduce(CLI::App& app, dcsde::cli::ReproduceArgs& reproduce_args) {
  CLI::App* reproduce = app.add_subcommand(
      "reproduce", "Run a claim of the papers: its experiments, figures and verdict");
  reproduce->add_option("name", reproduce_args.name, "a claim (see --list) or all");
  reproduce->add_flag("--list", reproduce_args.list, "name every claim");
  reproduce->add_option("--out", reproduce_args.out, "results folder (default results/reproduce)");
  reproduce->add_flag("--quick", reproduce_args.quick, "small runs (about a minute per claim)");
  reproduce->add_option("--claims", reproduce_args.claims,
                        "the claims manifest (default experiments/reproduce/claims.toml)");
  reproduce->add_option("--threads", reproduce_args.threads, "OpenMP threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
  reproduce->add_flag("--quiet", reproduce_args.quiet, "no progress output");
  return reproduce;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread starts: SIGINT, SIGTERM and SIGHUP remove unfinished results.
  dcsde::install_interrupt_handlers();
#ifdef DCSDE_HAVE_TORCH
  dcsde::torch_networks::install();  // objective = "torch"
#endif
  CLI::App app{
      "dcsde: distributed optimization under gradient noise and compression, and its SDEs"};
  app.set_version_flag("--version", std::string("dcsde ") + DCSDE_VERSION);
  app.require_subcommand(1);

  dcsde::cli::RunArgs run_args;
  CLI::App* run = add_run(app, run_args);
  dcsde::cli::ThresholdArgs threshold_args;
  CLI::App* threshold = add_threshold(app, threshold_args);
  dcsde::cli::ScaleArgs scale_args;
  CLI::App* scale = add_scale(app, scale_args);
  dcsde::cli::ReproduceArgs reproduce_args;
  CLI::App* reproduce = add_reproduce(app, reproduce_args);

  std::string validate_file;
  std::vector<std::string> validate_sets;
  CLI::App* validate =
      app.add_subcommand("validate", "Check an experiment file without running it");
  validate->add_option("file", validate_file, "experiment TOML file")
      ->required()
      ->check(CLI::ExistingFile);
  validate->add_option("--set", validate_sets, "override a key (repeatable)");

  std::string bound_file, bound_out;
  std::vector<std::string> bound_sets;
  CLI::App* bound =
      app.add_subcommand("bound", "The papers' convergence bound of an experiment (Thm 3, Thm 4)");
  bound->add_option("file", bound_file, "experiment TOML file")
      ->required()
      ->check(CLI::ExistingFile);
  bound->add_option("--out", bound_out, "results folder (default results/<experiment name>)");
  bound->add_option("--set", bound_sets, "override a key (repeatable)");

  bool markdown = false;
  CLI::App* list = app.add_subcommand(
      "list", "List objectives, noise models, compressors, methods and every key");
  list->add_flag("--markdown", markdown,
                 "print the key table as Markdown (docs/experiment-format.md)");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*run) return dcsde::cli::run(run_args);
    if (*validate) return dcsde::cli::validate(validate_file, validate_sets);
    if (*list) return dcsde::cli::list(markdown);
    if (*scale) return dcsde::cli::scale(scale_args);
    if (*reproduce) return dcsde::cli::reproduce(reproduce_args);
    if (*bound) return dcsde::cli::bound(bound_file, bound_out, bound_sets);
    if (*threshold) return dcsde::cli::threshold(threshold_args);
  } catch (const dcsde::Error& e) {
    std::fprintf(stderr, "dcsde: error: %s\n", e.what());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    std::fprintf(stderr, "dcsde: error: %s\n", e.what());  // names the path and the system's reason
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dcsde: unexpected error: %s\n", e.what());
    return 3;
  }
  return 0;
}
