// dcsde reproduce: each claim of the papers as experiments, figures and a verdict
// (experiments/reproduce/claims.toml; the analyses are scripts/reproduce.py).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "dcsde/config/claims.hpp"
#include "dcsde/config/threshold.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/run/results.hpp"

namespace dcsde::cli {
namespace fs = std::filesystem;
namespace {

// The manifest: --claims, else experiments/reproduce/claims.toml of the working folder, else of
// the source tree this dcsde was built from.
fs::path find_manifest(const std::string& given) {
  if (!given.empty()) return given;
  const fs::path relative = fs::path("experiments") / "reproduce" / "claims.toml";
  if (fs::exists(relative)) return relative;
  const fs::path built = fs::path(DCSDE_SOURCE_DIR) / relative;
  if (fs::exists(built)) return built;
  throw IoError(relative.string() +
                " not found here nor in the source tree; run from the dcsde folder or give "
                "--claims FILE");
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `mpirun -np R dcsde run ... --backend mpi` for a claim with `ranks`: the agents exchange real
// messages between processes. What a container needs is set as in tests/dist (root, more ranks
// than cores, no single-copy transport).
void run_over_mpi(const Claim& claim, [[maybe_unused]] const RunArgs& run_args) {
#ifndef DCSDE_HAVE_MPI
  throw ConfigError("claim '" + claim.name +
                    "' runs over MPI (ranks = " + std::to_string(claim.ranks) +
                    "): this dcsde was built without MPI; install libopenmpi-dev openmpi-bin "
                    "(scripts/setup --with-mpi) and rebuild");
#else
  std::string command =
      "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
      "OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun --oversubscribe -np " +
      std::to_string(claim.ranks) + " " + shell_quote(fs::read_symlink("/proc/self/exe")) +
      " run " + shell_quote(run_args.file) + " --backend mpi --no-plot --out " +
      shell_quote(run_args.out);
  if (run_args.quiet) command += " --quiet";
  if (run_args.threads >= 0) command += " --threads " + std::to_string(run_args.threads);
  for (const auto& set : run_args.sets) command += " --set " + shell_quote(set);
  std::fflush(stdout);
  const int status = std::system(command.c_str());
  if (status != 0)
    throw Error("claim '" + claim.name + "': the MPI run of " + run_args.file +
                " failed (exit status " + std::to_string(status) + "): " + command);
#endif
}

// One [[claim.thresholds]] entry, in process through the threshold driver (config/threshold.hpp)
// into dir/NAME/threshold.json; --quick's overrides follow the entry's own. A process without a
// limit in the bracket is kept as absent: that is a result here (papers.md 8.2), not an error.
fs::path run_threshold(const Claim& claim, const ClaimThreshold& t, const fs::path& dir,
                       const ReproduceArgs& args) {
  const fs::path out = dir / t.name;
  if (fs::exists(out))
    throw ConfigError("claim '" + claim.name + "': threshold '" + t.name +
                      "' has the name of another result folder of the claim");
  ThresholdOptions o;
  o.key = t.key;
  o.low = t.low;
  o.high = t.high;
  o.sde_models = t.sde;
  o.criteria = t.criteria;
  o.tolerance = t.tolerance;
  o.keep_absent = true;
  std::vector<std::string> sets = t.sets;
  if (args.quick) sets.insert(sets.end(), claim.quick.begin(), claim.quick.end());
  if (args.threads >= 0) sets.push_back("run.threads=" + std::to_string(args.threads));
  std::printf("\n== %s: threshold %s (%s of %s)\n", claim.name.c_str(), t.name.c_str(),
              t.key.c_str(), t.experiment.filename().string().c_str());
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const ThresholdReport report = find_thresholds_in_file(t.experiment.string(), sets, o);
  fs::create_directories(out);
  write_text(out / "threshold.json", threshold_json(report));
  // What the analysis needs to place the entry (its overrides, --quick's included).
  const nlohmann::json entry = {{"name", t.name},
                                {"experiment", t.experiment.filename().string()},
                                {"key", t.key},
                                {"set", sets}};
  write_text(out / "entry.json", entry.dump(2) + "\n");
  if (!args.quiet)
    for (const ProcessThreshold& p : report.processes)
      for (const ThresholdResult& r : p.results) {
        const std::string value =
            r.absent.empty() ? fmt::format("{:.6g}", r.threshold) : "none: " + r.absent;
        std::printf("  %-16s %-12s %s (%zu probes)\n", p.process.c_str(), to_string(r.criterion),
                    value.c_str(), p.probes.size());
      }
  if (!args.quiet) std::printf("  %s\n", early_stop_summary(report).c_str());
  std::printf("  %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return out;
}

// Runs one claim: its experiments, then its analysis; returns the verdict (verdict.json).
// `dir` is the staging folder of the claim's results, `final_dir` where they will be.
nlohmann::json reproduce_claim(const Claim& claim, const fs::path& manifest, const fs::path& dir,
                               const fs::path& final_dir, const ReproduceArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> analysis_args = {claim.analysis, dir.string()};
  for (const fs::path& experiment : claim.experiments) {
    RunArgs run_args;
    run_args.file = experiment.string();
    run_args.out = (dir / experiment.stem()).string();
    if (args.quick) run_args.sets = claim.quick;
    run_args.threads = args.threads;
    run_args.quiet = args.quiet;
    run_args.no_plot = true;  // the claim's own figures replace the per-run plot
    std::printf("\n== %s: %s\n", claim.name.c_str(), experiment.filename().string().c_str());
    std::fflush(stdout);
    if (claim.ranks > 0) {
      run_over_mpi(claim, run_args);
    } else {
      run(run_args);
    }
    analysis_args.push_back(run_args.out);
  }
  for (const ClaimThreshold& t : claim.thresholds) {
    if (args.quick && !t.quick) {
      std::printf("\n== %s: threshold %s skipped (quick = false: not part of --quick)\n",
                  claim.name.c_str(), t.name.c_str());
      continue;
    }
    analysis_args.push_back(run_threshold(claim, t, dir, args).string());
  }
  const fs::path script = manifest.parent_path() / ".." / ".." / "scripts" / "reproduce.py";
  if (!fs::exists(script)) throw IoError(script.string() + ": the analyses script is missing");
  const PythonResult analysis = run_python(script, analysis_args);
  const fs::path verdict_file = dir / "verdict.json";
  if (analysis.status != 0 || !fs::exists(verdict_file))
    throw Error("claim '" + claim.name + "': analysis '" + claim.analysis + "' failed (" +
                python_interpreter() + " " + script.string() +
                ", needs python3-matplotlib and "
                "python3-numpy):\n" +
                analysis.output);
  nlohmann::json verdict = nlohmann::json::parse(read_file(verdict_file));
  verdict["name"] = claim.name;
  verdict["paper"] = claim.paper;
  verdict["claim"] = claim.statement;
  verdict["criterion"] = claim.criterion;
  verdict["scope"] = claim.scope;
  verdict["quick"] = args.quick;
  verdict["command"] = fmt::format("dcsde reproduce {}{} --out {}", claim.name,
                                   args.quick ? " --quick" : "", final_dir.parent_path().string());
  verdict["wall_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_text(verdict_file, verdict.dump(2) + "\n");
  return verdict;
}

std::string holds_text(const nlohmann::json& verdict) {
  if (verdict["holds"].is_null()) return "inconclusive";
  return verdict["holds"].get<bool>() ? "holds" : "does not hold";
}

// One claim's section of RESULTS.md; figure paths relative to `root`.
std::string markdown_section(const nlohmann::json& v, const fs::path& dir, const fs::path& root) {
  std::string md = fmt::format("## {}\n\n**Claim** ({}): {}\n\n", v["name"].get<std::string>(),
                               v["paper"].get<std::string>(), v["claim"].get<std::string>());
  if (!v.value("criterion", "").empty())
    md += fmt::format("**Criterion** (written before the run): {}\n\n",
                      v["criterion"].get<std::string>());
  for (const auto& figure : v.value("figures", nlohmann::json::array()))
    md += fmt::format("![{}]({})\n\n", figure.get<std::string>(),
                      fs::relative(dir / figure.get<std::string>(), root).string());
  md += fmt::format("**Measured**: {}\n\n**Verdict**: {}.", v["measured"].get<std::string>(),
                    holds_text(v));
  if (v.contains("explanation") && !v["explanation"].get<std::string>().empty())
    md += " " + v["explanation"].get<std::string>();
  md += fmt::format("\n\n`{}`: {:.0f} s{}.\n\n", v["command"].get<std::string>(),
                    v["wall_seconds"].get<double>(), v["quick"].get<bool>() ? " (quick mode)" : "");
  return md;
}

// RESULTS.md's tally: the papers' claims counted apart from those beyond the papers
// (claims.toml's scope), by verdict.
struct Tally {
  int holds = 0, fails = 0, open = 0;
  void add(const nlohmann::json& verdict) {
    if (verdict["holds"].is_null()) {
      ++open;
    } else {
      ++(verdict["holds"].get<bool>() ? holds : fails);
    }
  }
  std::string text(const char* what) const {
    return fmt::format("{}: {} of {} hold, {} do not hold, {} inconclusive", what, holds,
                       holds + fails + open, fails, open);
  }
};

}  // namespace

int reproduce(const ReproduceArgs& args) {
  const fs::path manifest = find_manifest(args.claims);
  const std::vector<Claim> claims = load_claims(manifest);
  if (args.list || args.name.empty()) {
    for (const Claim& c : claims)
      std::printf("%-22s %s\n%-22s   (%s)\n", c.name.c_str(), c.statement.c_str(), "",
                  c.paper.c_str());
    if (!args.list) std::printf("\ndcsde reproduce NAME|all --out DIR [--quick]\n");
    return 0;
  }
  std::vector<const Claim*> chosen;
  std::string names;
  for (const Claim& c : claims) {
    if (args.name == "all" || c.name == args.name) chosen.push_back(&c);
    names += (names.empty() ? "" : ", ") + c.name;
  }
  if (chosen.empty())
    throw ConfigError("reproduce: no claim named '" + args.name + "'; the claims are: " + names +
                      " (or all)");
  // The folder gathers claims run one by one; each claim's folder is replaced as a whole.
  const ClaimedDestination claimed(
      args.out.empty() ? fs::path("results") / "reproduce" : fs::path(args.out), {manifest});
  const fs::path& out = claimed.path();
  make_results_folder(out);
  std::vector<nlohmann::json> verdicts;
  for (const Claim* claim : chosen) {
    const fs::path dir = checked_destination(out / claim->name);
    recover_leftovers(dir);
    StagedDirectory staged(dir);
    verdicts.push_back(reproduce_claim(*claim, manifest, staged.path(), dir, args));
    write_text(staged.path() / "verdict.md",
               markdown_section(verdicts.back(), staged.path(), staged.path()));
    staged.commit();
  }
  // RESULTS.md: every claim reproduced into `out` so far (this run and earlier ones), in the
  // manifest's order, so that claims can be run one by one into the same folder.
  std::string results =
      "# Results: the papers' claims, reproduced\n\nProduced by `dcsde reproduce` "
      "(experiments/reproduce/claims.toml, scripts/reproduce.py); each section names its command "
      "and wall time.\n\n| claim | verdict | measured |\n|---|---|---|\n";
  std::string sections;
  Tally paper, beyond;
  for (const Claim& claim : claims) {
    const fs::path verdict_file = out / claim.name / "verdict.json";
    if (!fs::exists(verdict_file)) continue;
    const nlohmann::json v = nlohmann::json::parse(read_file(verdict_file));
    (claim.scope == "beyond" ? beyond : paper).add(v);
    std::string measured = v["measured"].get<std::string>();
    for (std::size_t at = 0; (at = measured.find('|', at)) != std::string::npos; at += 2)
      measured.insert(at, "\\");  // a | inside a table cell would end the cell
    results += fmt::format("| [{0}](#{0}) | {1} | {2} |\n", claim.name, holds_text(v), measured);
    sections += markdown_section(v, out / claim.name, out);
  }
  const std::string tally = "**Tally**: " + paper.text("the papers' claims") + "; " +
                            beyond.text("beyond the papers") + ".\n\n";
  results.insert(results.find("| claim | verdict |"), tally);
  write_text(out / "RESULTS.md", results + "\n" + sections);
  std::printf("\n%-22s %-14s %8s  %s\n", "claim", "verdict", "time", "measured");
  for (const auto& v : verdicts)
    std::printf("%-22s %-14s %7.0fs  %s\n", v["name"].get<std::string>().c_str(),
                holds_text(v).c_str(), v["wall_seconds"].get<double>(),
                v["measured"].get<std::string>().c_str());
  std::printf("results: %s/\n", out.string().c_str());
  return 0;
}

}  // namespace dcsde::cli
