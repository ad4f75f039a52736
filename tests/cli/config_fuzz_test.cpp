// A seeded fuzzer of experiment files: a few hundred mutants of a valid experiment (values out
// of range or of the wrong type at any key of the schema, removed or repeated lines, a truncated
// file, flipped bytes, sweeps over bad values). Every outcome must be a clean ConfigError with a
// bounded message, or a valid experiment; run through the CLI, a clean exit 2 with one error line
// or exit 0 with finite results, and never a crash, a hang, an "unexpected error" or a folder
// left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../support/command.hpp"
#include "../support/files.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"

namespace fs = std::filesystem;

namespace {

const char* kBase = R"([experiment]
name = "fuzz"
[problem]
objective = "quadratic"
dim = 6
eigen_min = 0.5
eigen_max = 4.0
[noise]
kind = "student_t"
nu = 3.0
sigma = [0.5, 1.0, 0.25]
batch = 2
[agents]
count = 3
[compressor]
kind = "rand_k"
k = 2
[method]
kind = "dcsgd"
lr = 0.05
steps = 30
[run]
replicas = 8
record_every = 10
seed = 4
[sde]
model = "first_order"
[output]
plot = false
)";

// Values that break assumptions: integer limits, non-finite floats, wrong types, paths.
const std::vector<std::string> kNasty = {
    "-1",        "0",          "1",           "2",
    "7",         "2147483648", "4294967297",  "9223372036854775807",
    "16777216",  "1000000000", "-0.0",        "1e308",
    "-1e308",    "1e-320",     "nan",         "inf",
    "-inf",      "0.5",        "\"\"",        "\"zzz\"",
    "\"..\"",    "\"/tmp/x\"", "\"a/b\"",     "true",
    "[]",        "[1, 2, 3]",  "[0.5, -1.0]", "[[0, 1.0], [10, 0.5]]",
    "{ a = 1 }", "1979-05-27", "\"rand_k\"",  "\"dsignsgd\"",
    "\"sign\""};

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {
    for (const dcsde::KeyInfo& key : dcsde::experiment_keys())
      keys_.push_back(key.section + "." + key.key);
  }

  std::string mutant() {
    std::vector<std::string> lines = split(kBase);
    const int operations = 1 + static_cast<int>(pick(2));
    for (int i = 0; i < operations; ++i) mutate(lines);
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    if (pick(16) == 0) text.resize(pick(text.size()));  // a truncated file
    if (pick(16) == 0 && !text.empty()) text[pick(text.size())] = static_cast<char>(pick(256));
    return text;
  }

 private:
  std::size_t pick(std::size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  const std::string& nasty() { return kNasty[pick(kNasty.size())]; }

  static std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  // Adds `line` under [section], writing the header when the file has none (a TOML table may
  // not be opened twice).
  static void put(std::vector<std::string>& lines, const std::string& section,
                  const std::string& line) {
    const auto header = std::find(lines.begin(), lines.end(), "[" + section + "]");
    if (header == lines.end()) {
      lines.push_back("[" + section + "]");
      lines.push_back(line);
    } else {
      lines.insert(header + 1, line);
    }
  }

  void mutate(std::vector<std::string>& lines) {
    switch (pick(6)) {
      case 0:  // an existing key gets a nasty value
      case 1: {
        const std::size_t i = pick(lines.size());
        const auto eq = lines[i].find(" = ");
        if (eq != std::string::npos) lines[i] = lines[i].substr(0, eq) + " = " + nasty();
        break;
      }
      case 2: {  // any key of the schema, in its section
        const std::string& key = keys_[pick(keys_.size())];
        put(lines, key.substr(0, key.find('.')), key.substr(key.find('.') + 1) + " = " + nasty());
        break;
      }
      case 3:  // a line removed
        lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(pick(lines.size())));
        break;
      case 4: {  // a line repeated
        const std::size_t i = pick(lines.size());
        lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i), lines[i]);
        break;
      }
      default: {  // a sweep over a key of the schema
        const std::string& key = keys_[pick(keys_.size())];
        put(lines, "sweep", "\"" + key + "\" = [" + nasty() + ", " + nasty() + "]");
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  std::vector<std::string> keys_;
};

// Work of a valid plan, to run only the small ones through the CLI.
double work_of(const dcsde::ExperimentPlan& plan) {
  double work = 0.0;
  for (const auto& point : plan.points) {
    const dcsde::Experiment& e = point.experiment;
    work += static_cast<double>(e.objective.dim) * static_cast<double>(e.agents) *
            static_cast<double>(e.run.replicas) * static_cast<double>(e.run.steps) *
            (e.sde ? 2.0 * static_cast<double>(e.sde->substeps) : 1.0);
  }
  return work;
}

bool all_finite(const nlohmann::json& j) {
  if (j.is_number_float()) return std::isfinite(j.get<double>());
  if (j.is_structured())
    for (const auto& element : j)
      if (!all_finite(element)) return false;
  return true;
}

class ConfigFuzz : public dcsde::testing::TempDirTest {
 protected:
  ConfigFuzz() : TempDirTest("fuzz") {}
};

TEST_F(ConfigFuzz, EveryMutantIsACleanErrorOrAValidExperiment) {
  Mutator mutator(20261203);
  constexpr int kMutants = 400;
  int errors = 0, valid = 0, cli_runs = 0;
  std::vector<std::string> small_valid, invalid;
  for (int i = 0; i < kMutants; ++i) {
    const std::string text = mutator.mutant();
    try {
      const dcsde::ExperimentPlan plan = dcsde::parse_experiment(text, "mutant.toml");
      ++valid;
      if (work_of(plan) <= 2e6) small_valid.push_back(text);
    } catch (const dcsde::ConfigError& e) {
      ++errors;
      const std::string message = e.what();
      EXPECT_FALSE(message.empty());
      EXPECT_LT(message.size(), 2000u) << "mutant " << i << ":\n" << text;
      if (invalid.size() < 8) invalid.push_back(text);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "mutant " << i << " raised " << typeid(e).name() << ": " << e.what() << "\n"
                    << text;
    }
  }
  std::printf("%d mutants: %d clean errors, %d valid (%zu small enough to run)\n", kMutants, errors,
              valid, small_valid.size());
  EXPECT_GT(errors, kMutants / 4) << "the mutations are too weak to test anything";
  EXPECT_GT(valid, 10) << "the mutations never leave a valid experiment";

  // Through the CLI: a sample of the valid mutants and of the invalid ones.
  small_valid.resize(std::min<std::size_t>(small_valid.size(), 10));
  std::vector<std::pair<std::string, bool>> sample;
  for (const auto& text : small_valid) sample.push_back({text, true});
  for (const auto& text : invalid) sample.push_back({text, false});
  for (const auto& [text, expected_valid] : sample) {
    const std::string name = "m" + std::to_string(cli_runs++);
    write(name + ".toml", text);
    const auto r =
        dcsde::testing::run_command("timeout -k 5 120 " + std::string(DCSDE_BINARY) + " run " +
                                    (dir_ / (name + ".toml")).string() + " --out " +
                                    (dir_ / name).string() + " --quiet --no-plot");
    ASSERT_TRUE(r.status == 0 || r.status == 2) << "exit " << r.status << "\n" << r.output << text;
    EXPECT_EQ(r.status == 0, expected_valid) << r.output << text;
    EXPECT_EQ(r.output.find("unexpected error"), std::string::npos) << r.output;
    if (r.status == 2) {
      EXPECT_EQ(r.output.rfind("dcsde: error: ", 0), 0u) << r.output;
      EXPECT_FALSE(fs::exists(dir_ / name));
    } else {
      const nlohmann::json summary =
          nlohmann::json::parse(dcsde::testing::read_file(dir_ / name / "summary.json"));
      EXPECT_TRUE(all_finite(summary)) << summary.dump(1);
    }
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string file = entry.path().filename().string();
      EXPECT_TRUE(file.find(".tmp-") == std::string::npos &&
                  file.find(".lock") == std::string::npos)
          << file << " left behind by\n"
          << text;
    }
  }
}

}  // namespace
