#include "schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "dcsde/core/error.hpp"

namespace dcsde::detail {

std::string where(const toml::node& node) {
  const toml::source_region& src = node.source();
  const std::string path = src.path ? *src.path : std::string("<input>");
  if (path.rfind("--set", 0) == 0) return path;
  return path + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column);
}

std::string node_text(const toml::node& node) {
  if (node.is_string()) return "\"" + *node.value<std::string>() + "\"";
  if (node.is_floating_point()) return fmt::format("{}", *node.value<double>());
  if (const toml::array* array = node.as_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < array->size(); ++i) out += (i ? ", " : "") + node_text((*array)[i]);
    return out + "]";
  }
  std::ostringstream os;
  node.visit([&](auto&& value) { os << value; });
  return os.str();
}

namespace {

constexpr std::size_t kShownValues = 8;        // array values shown in a message
constexpr std::size_t kShownCharacters = 120;  // string characters shown in a message

// Control characters (a NUL would end the printed message) as \uXXXX, as TOML writes them.
std::string escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f ? fmt::format("\\u{:04X}", u) : std::string(1, c);
  }
  return out;
}

// The first `limit` bytes of `text`, not splitting a UTF-8 character.
std::string head(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut);
}

}  // namespace

std::string clip(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  return head(text, limit) + fmt::format("... ({} characters)", text.size());
}

std::string shown_text(const toml::node& node) {
  if (node.is_string()) {
    const std::string text = *node.value<std::string>();
    if (text.size() <= kShownCharacters) return "\"" + escaped(text) + "\"";
    return "\"" + escaped(head(text, kShownCharacters)) + "...\"" +
           fmt::format(" ({} characters)", text.size());
  }
  if (const toml::array* array = node.as_array()) {
    std::string out = "[";
    const std::size_t shown = std::min(array->size(), kShownValues);
    for (std::size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + shown_text((*array)[i]);
    if (shown < array->size()) out += fmt::format(", ... ({} values)", array->size());
    return out + "]";
  }
  return clip(escaped(node_text(node)));  // numbers, booleans, dates; tables (sweep values)
}

std::string Reader::where() const { return location; }

void Reader::type_error(const std::string& expected) const {
  throw ConfigError(where() + ": " + key + " = " + shown_text(node) + ". Expected " + expected +
                    ".");
}

void Reader::range_error(std::int64_t lo, std::int64_t hi) const {
  throw ConfigError(where() + ": " + key + " = " + shown_text(node) + ". Expected an integer in [" +
                    std::to_string(lo) + ", " + std::to_string(hi) + "].");
}

std::int64_t Reader::integer() const {
  if (!node.is_integer()) type_error("an integer");
  return *node.value<std::int64_t>();
}

double Reader::number() const {
  if (!node.is_number()) type_error("a number");
  return *node.value<double>();
}

std::string Reader::string() const {
  if (!node.is_string()) type_error("a string");
  return *node.value<std::string>();
}

void Reader::kind_error(const std::string& names) const {
  throw ConfigError(where() + ": " + key + " = " + shown_text(node) +
                    ". Violated constraint: one of " + names + ".");
}

bool Reader::boolean() const {
  if (!node.is_boolean()) type_error("true or false");
  return *node.value<bool>();
}

std::vector<double> Reader::numbers() const {
  if (node.is_number()) return {*node.value<double>()};
  const toml::array* array = node.as_array();
  if (!array || array->empty()) type_error("a number or a non-empty array of numbers");
  std::vector<double> out;
  for (const toml::node& element : *array) {
    if (!element.is_number()) type_error("a number or a non-empty array of numbers");
    out.push_back(*element.value<double>());
  }
  return out;
}

std::vector<std::pair<std::int64_t, double>> Reader::step_points() const {
  const toml::array* array = node.as_array();
  const char* expected = "an array of [step, multiplier] pairs, e.g. [[0, 1.0], [500, 0.1]]";
  if (!array || array->empty()) type_error(expected);
  std::vector<std::pair<std::int64_t, double>> out;
  for (const toml::node& element : *array) {
    const toml::array* pair = element.as_array();
    if (!pair || pair->size() != 2 || !(*pair)[0].is_integer() || !(*pair)[1].is_number())
      type_error(expected);
    out.emplace_back(*(*pair)[0].value<std::int64_t>(), *(*pair)[1].value<double>());
  }
  return out;
}

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names = {"experiment", "problem", "noise", "agents",
                                                 "compressor", "method",  "run",   "sde",
                                                 "output",     "sweep"};
  return names;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

const KeySpec* find_spec(const std::string& dotted) {
  for (const auto& spec : key_specs())
    if (spec.info.section + "." + spec.info.key == dotted) return &spec;
  return nullptr;
}

[[noreturn]] void unknown_key(const std::string& location, const std::string& dotted) {
  const auto dot = dotted.find('.');
  const std::string section = dot == std::string::npos ? dotted : dotted.substr(0, dot);
  std::vector<std::string> allowed;
  for (const auto& spec : key_specs())
    if (spec.info.section == section) allowed.push_back(spec.info.key);
  if (allowed.empty()) {
    std::vector<std::string> sections = section_names();
    throw ConfigError(location + ": unknown section '" + clip(section) +
                      "'. Allowed sections: " + join(sections, ", ") + ".");
  }
  throw ConfigError(location + ": unknown key '" + clip(dotted) + "'. Allowed keys in [" + section +
                    "]: " + join(allowed, ", ") + ".");
}

namespace {
SdeOptions& sde_of(Experiment& e) {
  if (!e.sde) e.sde.emplace();
  return *e.sde;
}
// A [compressor] key: one value for every agent, or an array of one per agent. A value goes to
// `compressor` and to every agent's entry; an array to the agents' entries (created from
// `compressor` on the first array, so keys may come in any order), whose count every array of
// the section shares. parse.cpp checks the count against agents.count and each agent's options.
template <class T, class ReadOne>
void read_compressor_key(Experiment& e, const Reader& r, T CompressorOptions::*field,
                         ReadOne read_one) {
  const toml::array* array = r.node.as_array();
  if (!array) {
    const T value = read_one(r);
    e.compressor.*field = value;
    for (CompressorOptions& agent : e.agent_compressors) agent.*field = value;
    return;
  }
  if (array->empty()) r.type_error("a value or a non-empty array of one value per agent");
  if (e.agent_compressors.empty()) {
    e.agent_compressors.assign(array->size(), e.compressor);
  } else if (e.agent_compressors.size() != array->size()) {
    throw ConfigError(r.where() + ": " + r.key + " = " + shown_text(r.node) +
                      ". Violated constraint: one value per agent, as many as the other lists "
                      "of [compressor] (" +
                      std::to_string(e.agent_compressors.size()) + ").");
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const Reader element{r.key + "[" + std::to_string(i) + "]", *array->get(i), r.location};
    e.agent_compressors[i].*field = read_one(element);
  }
  e.compressor = e.agent_compressors.front();
}

// "quantization levels s: qsgd 1 <= s <= 2147483647, natural_dithering 1 <= s <= 1024", from the
// compressor specs, which hold the constraint (compress/compressor.hpp).
std::string levels_meaning() {
  std::string out;
  for (const CompressorSpec& c : kind_specs(CompressorKind{}))
    if (c.keys & kCompressorLevels)
      out += (out.empty() ? "" : ", ") + std::string(c.name) +
             " 1 <= s <= " + std::to_string(c.max_levels);
  return "quantization levels s: " + out;
}

}  // namespace

// The one place where keys, types, defaults and meanings are declared.
const std::vector<KeySpec>& key_specs() {
  using E = Experiment;
  using R = Reader;
  static const std::vector<KeySpec> specs = {
      {{"experiment", "name", "string", "file name without .toml",
        "name of the experiment; default results folder results/<name>: a plain name (no /, \\, "
        "control characters; not . or ..; at most 200 bytes)"},
       [](E& e, const R& r) { e.name = r.string(); }},
      {{"experiment", "description", "string", "\"\"", "free text, copied to summary.json"},
       [](E& e, const R& r) { e.description = r.string(); }},

      {{"problem", "objective", "string", "(required)", kind_names<ObjectiveKind>()},
       [](E& e, const R& r) { e.objective.kind = r.kind<ObjectiveKind>(); }},
      {{"problem", "dim", "int", "(required; torch: set by the model)", "dimension d >= 1"},
       [](E& e, const R& r) { e.objective.dim = r.integer_as<Index>(); }},
      {{"problem", "eigenvalues", "[float]", "log-spaced",
        "quadratic kinds: explicit spectrum, d values > 0"},
       [](E& e, const R& r) { e.objective.eigenvalues = r.numbers(); }},
      {{"problem", "eigen_min", "float", "0.1",
        "quadratic kinds: smallest eigenvalue of the log-spaced spectrum"},
       [](E& e, const R& r) { e.objective.eigen_min = r.number(); }},
      {{"problem", "eigen_max", "float", "10",
        "quadratic kinds: largest eigenvalue of the log-spaced spectrum"},
       [](E& e, const R& r) { e.objective.eigen_max = r.number(); }},
      {{"problem", "samples", "int", "1000", "logistic: number of synthetic data points"},
       [](E& e, const R& r) { e.objective.samples = r.integer_as<Index>(); }},
      {{"problem", "l2", "float", "0.001", "logistic: ridge term (l2/2)||x||^2 (mu = l2)"},
       [](E& e, const R& r) { e.objective.l2 = r.number(); }},
      {{"problem", "seed", "int", "0",
        "seed of the problem data (rotation, dataset), independent of run.seed (>= 0)"},
       [](E& e, const R& r) { e.objective.seed = r.integer_as<std::uint64_t>(); }},
      {{"problem", "x0", "float | [float]", "1.0",
        "initial state: one value for every coordinate, or d values (torch: the seeded "
        "initialisation instead)"},
       [](E& e, const R& r) { e.x0 = r.numbers(); }},
      {{"problem", "model", "string", "mlp", "torch: mlp | resnet | vit | gpt"},
       [](E& e, const R& r) { e.objective.network.model = r.string(); }},
      {{"problem", "dataset", "string", "fashion_mnist",
        "torch: fashion_mnist (mlp, resnet, vit) | text (gpt: Jane Austen's novels, bytes)"},
       [](E& e, const R& r) { e.objective.network.dataset = r.string(); }},
      {{"problem", "data_path", "string", "the Debian package's files",
        "torch: Fashion-MNIST folder, or janeaustenr's Rdata.rdb"},
       [](E& e, const R& r) { e.objective.network.data_path = r.string(); }},
      {{"problem", "width", "int", "mlp 128, resnet 16, vit 64, gpt 64",
        "torch: hidden units (mlp), channels (resnet), embedding width (vit, gpt)"},
       [](E& e, const R& r) { e.objective.network.width = r.integer_as<Index>(); }},
      {{"problem", "depth", "int", "2",
        "torch: hidden layers (mlp), residual blocks (resnet), attention blocks (vit, gpt)"},
       [](E& e, const R& r) { e.objective.network.depth = r.integer_as<Index>(); }},
      {{"problem", "heads", "int", "4", "torch: attention heads (vit, gpt); divides width"},
       [](E& e, const R& r) { e.objective.network.heads = r.integer_as<Index>(); }},
      {{"problem", "patch", "int", "7", "torch: vit patch side in pixels; divides 28"},
       [](E& e, const R& r) { e.objective.network.patch = r.integer_as<Index>(); }},
      {{"problem", "context", "int", "32", "torch: gpt context in bytes"},
       [](E& e, const R& r) { e.objective.network.context = r.integer_as<Index>(); }},
      {{"problem", "full_batch", "int", "1024",
        "torch: fixed training examples behind f, grad f and the loss curves"},
       [](E& e, const R& r) { e.objective.network.full_batch = r.integer_as<Index>(); }},
      {{"problem", "test_examples", "int", "2000",
        "torch: held-out examples for test_loss, test_accuracy / test_perplexity (0: none)"},
       [](E& e, const R& r) { e.objective.network.test_examples = r.integer_as<Index>(); }},
      {{"problem", "precision", "string", "float32",
        "torch: float32 | float64 arithmetic of the network (x itself is always double)"},
       [](E& e, const R& r) { e.objective.network.precision = r.string(); }},

      {{"noise", "kind", "string", "none",
        kind_names<NoiseKind>() + " (minibatch: objective = torch)"},
       [](E& e, const R& r) { e.noise.kind = r.kind<NoiseKind>(); }},
      {{"noise", "sigma", "float | [float]", "1.0",
        "gaussian: std; student_t: scale; one value or one per agent"},
       [](E& e, const R& r) { e.noise.sigma = r.numbers(); }},
      {{"noise", "sigma0", "float | [float]", "0.0",
        "affine kinds: constant part, one value or one per agent"},
       [](E& e, const R& r) { e.noise.sigma0 = r.numbers(); }},
      {{"noise", "sigma1", "float | [float]", "1.0",
        "affine kinds: gradient-norm part, one value or one per agent"},
       [](E& e, const R& r) { e.noise.sigma1 = r.numbers(); }},
      {{"noise", "nu", "float", "3.0",
        "student_t kinds: degrees of freedom nu > 0 (1 = Cauchy, <= 2 infinite variance)"},
       [](E& e, const R& r) { e.noise.nu = r.number(); }},
      {{"noise", "batch", "int", "1", "batch size B: the noise scale is divided by sqrt(B)"},
       [](E& e, const R& r) { e.noise.batch = r.integer_as<Index>(); }},
      {{"noise", "coordinate_scale", "[float]", "all 1",
        "per-coordinate multipliers of the scale, d values > 0"},
       [](E& e, const R& r) { e.noise.coordinate_scale = r.numbers(); }},

      {{"agents", "count", "int", "1",
        "number of agents 1 <= N < 2^24 (the random streams number agents in 24 bits)"},
       [](E& e, const R& r) { e.agents = r.integer_as<Index>(); }},

      {{"compressor", "kind", "string | [string]", "identity (sign for dsignsgd, majority_vote)",
        kind_names<CompressorKind>() +
            "; every [compressor] key takes one value or one per agent (omega_i per agent)"},
       [](E& e, const R& r) {
         read_compressor_key(e, r, &CompressorOptions::kind,
                             [](const R& x) { return x.kind<CompressorKind>(); });
       }},
      {{"compressor", "k", "int | [int]", "1", "rand_k, top_k: coordinates kept, 1 <= k <= d"},
       [](E& e, const R& r) {
         read_compressor_key(e, r, &CompressorOptions::k,
                             [](const R& x) { return x.integer_as<Index>(); });
       }},
      {{"compressor", "p", "float | [float]", "0.5", "bernoulli: keep probability, 0 < p <= 1"},
       [](E& e, const R& r) {
         read_compressor_key(e, r, &CompressorOptions::p, [](const R& x) { return x.number(); });
       }},
      {{"compressor", "levels", "int | [int]", "1", levels_meaning()},
       [](E& e, const R& r) {
         read_compressor_key(e, r, &CompressorOptions::levels,
                             [](const R& x) { return x.integer_as<int>(); });
       }},

      {{"method", "kind", "string", "(required)", kind_names<MethodKind>()},
       [](E& e, const R& r) { e.method.kind = r.kind<MethodKind>(); }},
      {{"method", "lr", "float", "(required but for normalized_dcsgd)",
        "base learning rate eta > 0"},
       [](E& e, const R& r) { e.method.lr = r.number(); }},
      {{"method", "schedule", "string", "constant", kind_names<ScheduleKind>()},
       [](E& e, const R& r) { e.method.schedule.kind = r.kind<ScheduleKind>(); }},
      {{"method", "schedule_points", "[[int, float]]", "none",
        "piecewise: [[first step, multiplier], ...], first step 0, increasing"},
       [](E& e, const R& r) { e.method.schedule.points = r.step_points(); }},
      {{"method", "steps", "int", "(required)", "number of optimizer steps >= 1"},
       [](E& e, const R& r) { e.method.steps = r.integer_as<std::int64_t>(); }},
      {{"method", "eps", "float", "0.5", "normalized_dcsgd: eps in (0, 1) of Eq. 15"},
       [](E& e, const R& r) { e.method.eps = r.number(); }},
      {{"method", "L0", "float", "objective's L0",
        "normalized_dcsgd: L0 >= 0 of (L0,L1)-smoothness"},
       [](E& e, const R& r) { e.method.L0 = r.number(); }},
      {{"method", "L1", "float", "objective's L1",
        "normalized_dcsgd: L1 >= 0 of (L0,L1)-smoothness"},
       [](E& e, const R& r) { e.method.L1 = r.number(); }},
      {{"method", "sigma0", "float", "from the noise model",
        "normalized_dcsgd: affine-variance sigma0 >= 0"},
       [](E& e, const R& r) { e.method.sigma0 = r.number(); }},
      {{"method", "sigma1", "float", "from the noise model",
        "normalized_dcsgd: affine-variance sigma1 >= 0"},
       [](E& e, const R& r) { e.method.sigma1 = r.number(); }},
      {{"method", "norm_of", "string", "aggregate",
        "normalized_dcsgd: ||g|| of the aggregate (server) or the exact gradient (oracle)"},
       [](E& e, const R& r) { e.method.norm_of = r.kind<NormOf>(); }},
      {{"method", "sign_draw", "string", "noise",
        "dsignsgd, majority_vote: 'noise' draws each agent's noise and takes signs (bit for bit "
        "what MPI agents encode); 'law' draws each sign from its law, +1 with probability "
        "F(g/s), one uniform per coordinate (same law, other bits, ~10x faster for Student-t)"},
       [](E& e, const R& r) { e.method.sign_draw = r.kind<SignDraw>(); }},
      {{"method", "allow_biased", "bool", "false",
        "dcsgd-like methods accept a biased compressor (top_k)"},
       [](E& e, const R& r) { e.method.allow_biased = r.boolean(); }},

      {{"run", "replicas", "int", "100", "Monte Carlo replicas R >= 1"},
       [](E& e, const R& r) { e.run.replicas = r.integer_as<Index>(); }},
      {{"run", "seed", "int", "0", "seed of every random stream of the run (>= 0)"},
       [](E& e, const R& r) { e.run.seed = r.integer_as<std::uint64_t>(); }},
      {{"run", "record_every", "int", "10",
        "record statistics every K steps (and at the last step), K >= 1"},
       [](E& e, const R& r) { e.run.record_every = r.integer_as<std::int64_t>(); }},
      {{"run", "threads", "int", "0",
        "OpenMP threads, 0 = all cores, at most max(64, 8 x cores); results do not depend on it"},
       [](E& e, const R& r) { e.run.threads = r.integer_as<int>(); }},
      {{"run", "block_size", "int", "16",
        "replicas per block (part of the numbers' identity: changing it changes nothing "
        "statistically)"},
       [](E& e, const R& r) { e.run.block_size = r.integer_as<Index>(); }},
      {{"run", "checkpoint_every", "int", "0",
        "save the run's state every K steps to <out>.checkpoint/ (0: never); resume an "
        "interrupted run with dcsde run --resume <out>"},
       [](E& e, const R& r) { e.run.checkpoint_every = r.integer_as<std::int64_t>(); }},

      {{"sde", "model", "string", "first_order",
        kind_names<SdeModel>() + ": modified -(eta/2) Hess grad f, stable +(eta/2) Hess grad f"},
       [](E& e, const R& r) { sde_of(e).model = r.kind<SdeModel>(); }},
      {{"sde", "integrator", "string", "euler_maruyama",
        kind_names<IntegratorKind>() + " (heun: weak order 2 for additive noise)"},
       [](E& e, const R& r) { sde_of(e).integrator = r.kind<IntegratorKind>(); }},
      {{"sde", "substeps", "int", "1",
        "integrator steps per optimizer step (dt = eta/substeps), >= 1"},
       [](E& e, const R& r) { sde_of(e).substeps = r.integer_as<Index>(); }},
      {{"sde", "law", "string", "auto",
        kind_names<LawKind>() + ": how drift and diffusion are obtained"},
       [](E& e, const R& r) { sde_of(e).law.kind = r.kind<LawKind>(); }},
      {{"sde", "law_samples", "int", "64", "monte_carlo law: samples M per evaluation, >= 2"},
       [](E& e, const R& r) { sde_of(e).law.samples = r.integer_as<Index>(); }},

      {{"output", "plot", "bool", "true", "write loss.png (needs python3-matplotlib)"},
       [](E& e, const R& r) { e.plot = r.boolean(); }},
      {{"output", "statistic", "string", "auto",
        "mean or median: what loss.png and the table show (the median with its "
        "inter-quartile band); auto: median when the noise has no finite variance (student_t, "
        "nu <= 2), else mean"},
       [](E& e, const R& r) { e.statistic = r.kind<Statistic>(); }},
  };
  return specs;
}

}  // namespace dcsde::detail

namespace dcsde {

const std::vector<KeyInfo>& experiment_keys() {
  static const std::vector<KeyInfo> keys = [] {
    std::vector<KeyInfo> out;
    for (const auto& spec : detail::key_specs()) out.push_back(spec.info);
    out.push_back({"sweep", "\"section.key\"", "[value]", "none",
                   "one sweep axis: the key takes each value in turn (cartesian product of axes)"});
    out.push_back({"sweep", "name", "[{ label, \"section.key\" = value, ... }]", "none",
                   "one sweep axis whose values are sets of overrides, e.g. methods to compare"});
    return out;
  }();
  return keys;
}

}  // namespace dcsde
