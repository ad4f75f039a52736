#include "dcsde/method/method.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "dcsde/core/error.hpp"
#include "dcsde/theory/special.hpp"

namespace dcsde {
namespace {

double mean_square(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return s / static_cast<double>(v.size());
}

}  // namespace

namespace {

// name, meaning, needs, aggregation, step rule, reads lr, paper 1 theory (method.hpp).
const MethodSpec kMethodSpecs[] = {
    {MethodKind::kDsgd, "dsgd", "distributed SGD: x -= eta eta_k (1/N) sum_i g_i",
     CompressorNeed::kIdentity, Aggregation::kAverage, StepRule::kScheduled, true,
     PaperOneTheory::kDcsgd},
    {MethodKind::kDcsgd, "dcsgd",
     "distributed compressed SGD: x -= eta eta_k (1/N) sum_i C(g_i), C unbiased",
     CompressorNeed::kUnbiased, Aggregation::kAverage, StepRule::kScheduled, true,
     PaperOneTheory::kDcsgd},
    {MethodKind::kDsignsgd, "dsignsgd",
     "distributed SignSGD: x -= eta eta_k (1/N) sum_i sign(g_i) (server averages)",
     CompressorNeed::kSigns, Aggregation::kAverage, StepRule::kScheduled, true,
     PaperOneTheory::kDsignsgd},
    {MethodKind::kMajorityVote, "majority_vote",
     "SignSGD with majority vote: x -= eta eta_k sign(sum_i sign(g_i))", CompressorNeed::kSigns,
     Aggregation::kMajority, StepRule::kScheduled, true, PaperOneTheory::kNone},
    {MethodKind::kNormalizedDcsgd, "normalized_dcsgd",
     "DCSGD with the step of papers.md 2.5 (Eq. 15): 2 eps / ((L0 + L1 ||g||) P + Q)",
     CompressorNeed::kUnbiased, Aggregation::kAverage, StepRule::kEq15, false,
     PaperOneTheory::kNone},
    {MethodKind::kNsgd, "nsgd", "normalized SGD: x -= eta eta_k D / ||D||, D = (1/N) sum_i C(g_i)",
     CompressorNeed::kUnbiased, Aggregation::kAverage, StepRule::kNormalized, true,
     PaperOneTheory::kNone},
};

const SignDrawSpec kSignDrawSpecs[] = {
    {SignDraw::kNoise, "noise", "draw the noise T, then sign(g + s T): what a transport encodes"},
    {SignDraw::kLaw, "law",
     "draw the sign from its law, +1 with probability F(g/s): the same law, other bits, faster"},
};

const NormOfSpec kNormOfSpecs[] = {
    {NormOf::kAggregate, "aggregate", "||D||, the norm of the aggregate (what a server computes)"},
    {NormOf::kGradient, "gradient", "||grad f(x)||, the exact gradient's norm (an oracle)"},
};

}  // namespace

std::span<const MethodSpec> kind_specs(MethodKind) { return kMethodSpecs; }
std::span<const SignDrawSpec> kind_specs(SignDraw) { return kSignDrawSpecs; }
std::span<const NormOfSpec> kind_specs(NormOf) { return kNormOfSpecs; }

void MethodWorkspace::resize(Index d, Index cols, bool messages) {
  gradient.resize(d, cols);
  agent_gradient.resize(messages ? d : 0, messages ? cols : 0);
  message.resize(messages ? d : 0, messages ? cols : 0);
  direction.resize(d, cols);
  norms.resize(cols);
  // A sparse step gathers the kept coordinates of several columns: room for d, and for 2048
  // (enough for all columns of a block at small d, so one vectorized draw serves them all).
  const auto room = static_cast<std::size_t>(std::max<Index>(d, 2048));
  kept.resize(room);
  kept_column.resize(room);
  kept_values.resize(room);
  kept_count.resize(room);
  law_x.resize(static_cast<std::size_t>(d));
  law_below.resize(static_cast<std::size_t>(d));
  law_above.resize(static_cast<std::size_t>(d));
  law_sum.resize(static_cast<std::size_t>(d));
}

Method::Method(const MethodOptions& options, const Objective& objective, const NoiseModel& noise,
               const Compressor& compressor, Index agents)
    : Method(options, objective, noise, std::vector<const Compressor*>{&compressor}, agents) {}

Method::Method(const MethodOptions& options, const Objective& objective, const NoiseModel& noise,
               std::vector<const Compressor*> compressors, Index agents)
    : options_(options),
      objective_(objective),
      noise_(noise),
      compressors_(std::move(compressors)),
      agents_(agents),
      schedule_(options.schedule) {
  DCSDE_ASSERT(compressors_.size() == 1 || static_cast<Index>(compressors_.size()) == agents_,
               "one compressor for every agent, or one per agent");
  const MethodSpec& spec = spec_of(options_.kind);
  const std::string kind(spec.name);
  auto require = [&](bool ok, const std::string& why) {
    if (!ok) throw ConfigError("method.kind", "method.kind = '" + kind + "': " + why);
  };
  compress_ = false;
  sparse_ = true;
  minibatch_ = noise_.family() == NoiseModel::Family::kMinibatch;
  for (std::size_t i = 0; i < compressors_.size(); ++i) {
    const Compressor& compressor = *compressors_[i];
    const CompressorSpec& comp = spec_of(compressor.kind());
    const std::string name = "'" + std::string(comp.name) + "'" +
                             (compressors_.size() > 1 ? " (agent " + std::to_string(i) + ")" : "");
    switch (spec.needs) {
      case CompressorNeed::kIdentity:
        require(comp.identity,
                "DSGD sends uncompressed gradients; compressor.kind must be "
                "'identity' (got " +
                    name + "); use method.kind = 'dcsgd' to compress");
        break;
      case CompressorNeed::kUnbiased:
        require(compressor.unbiased() || options_.allow_biased,
                "needs an unbiased compressor; " + name +
                    " is biased (set method.allow_biased = true to run it anyway)");
        break;
      case CompressorNeed::kSigns:
        require(comp.sends_signs,
                "agents send signs; compressor.kind must be 'sign' (got " + name + ")");
        break;
    }
    compress_ = compress_ || !comp.identity;
    sparse_ = sparse_ && compressor.sparse();
  }
  aggregation_ = spec.aggregation;
  rule_ = spec.rule;
  // The fused sparse step serves blocks whose every agent keeps a random subset.
  sparse_ = sparse_ && compress_ && !minibatch_;
  if (minibatch_ && !objective_.has_minibatches())
    throw ConfigError("noise.kind",
                      "noise.kind = 'minibatch' needs an objective with its own data (objective = "
                      "'torch'); '" +
                          objective_.name() +
                          "' has none: inject noise with noise.kind = 'gaussian' or 'student_t'");

  if (options_.sign_draw == SignDraw::kLaw) {
    require(spec.needs == CompressorNeed::kSigns,
            "method.sign_draw = 'law' draws the agents' signs; it needs "
            "compressor.kind = 'sign' (method.kind = 'dsignsgd' or 'majority_vote')");
    const auto family = noise_.family();
    if (family != NoiseModel::Family::kGaussian && family != NoiseModel::Family::kStudentT)
      throw ConfigError("method.sign_draw",
                        "method.sign_draw = 'law' needs noise with a known law (noise.kind "
                        "gaussian, student_t or their affine kinds); got noise.kind = '" +
                            noise_.name() + "'");
    sign_law_.emplace(family == NoiseModel::Family::kGaussian ? kGaussianNu : noise_.nu());
  }
  if (rule_ == StepRule::kEq15) {
    norm_of_gradient_ = options_.norm_of == NormOf::kGradient;
    const ObjectiveConstants constants = objective_.constants();
    auto l0 = options_.L0 ? options_.L0 : constants.L0;
    auto l1 = options_.L1 ? options_.L1 : constants.L1;
    require(l0.has_value() && l1.has_value(),
            "the objective '" + objective_.name() +
                "' has no known (L0, L1); set method.L0 and method.L1");
    l0_ = *l0;
    l1_ = *l1;
    // The affine-variance constants of papers.md 4.3, per unit batch, divided by B.
    double s0_sq, s1_sq;
    if (options_.sigma0 || options_.sigma1) {
      s0_sq = std::pow(options_.sigma0.value_or(0.0), 2);
      s1_sq = std::pow(options_.sigma1.value_or(0.0), 2);
    } else {
      switch (noise_.scale_rule()) {
        case NoiseModel::ScaleRule::kConstant:
          require(noise_.family() != NoiseModel::Family::kMinibatch,
                  "Eq. 15 needs the noise constants (sigma0, sigma1), unknown for minibatch noise; "
                  "set method.sigma0 and method.sigma1");
          s0_sq = noise_.family() == NoiseModel::Family::kNone ? 0.0 : mean_square(noise_.sigma());
          s1_sq = 0.0;
          break;
        default:
          s0_sq = mean_square(noise_.sigma0());
          s1_sq = mean_square(noise_.sigma1());
      }
      if (noise_.family() == NoiseModel::Family::kStudentT) {
        require(noise_.nu() > 2.0,
                "Eq. 15 needs the noise variance, which is infinite for Student-t with nu <= 2; "
                "set method.sigma0 / method.sigma1 explicitly");
        // Var of s T_nu is s^2 nu/(nu-2); an affine scale (s0 + s1|g|)^2 <= 2 s0^2 + 2 s1^2 |g|^2.
        const double var_factor = noise_.nu() / (noise_.nu() - 2.0);
        const double affine =
            noise_.scale_rule() == NoiseModel::ScaleRule::kAffineScale ? 2.0 : 1.0;
        s0_sq *= var_factor * affine;
        s1_sq *= var_factor * affine;
      }
    }
    const double b = static_cast<double>(noise_.batch());
    s0_sq /= b;
    s1_sq /= b;
    // Per-agent compressors enter through omega_bar, as in Var D (papers.md 2.5, Thm 1).
    const double omega = mean_omega();
    const double d = static_cast<double>(objective_.dim());
    const double n = static_cast<double>(agents_);
    norm_p_ = 1.0 + (omega + d * s1_sq * (1.0 + omega)) / n;
    norm_q_ = l1_ * d * s0_sq * (1.0 + omega) / n;
    require(l0_ * norm_p_ + norm_q_ > 0.0,
            "Eq. 15's denominator (L0 + L1 ||g||) P + Q is 0 at g = 0; set method.L0 > 0");
  }
}

double Method::bits_per_agent_per_step() const {
  if (uniform_compressors()) return compressors_.front()->message_bits(objective_.dim());
  double sum = 0.0;
  for (const Compressor* c : compressors_) sum += c->message_bits(objective_.dim());
  return sum / static_cast<double>(agents_);
}

double Method::mean_omega() const {
  if (uniform_compressors()) return compressors_.front()->omega(objective_.dim()).value_or(0.0);
  double sum = 0.0;
  for (const Compressor* c : compressors_) sum += c->omega(objective_.dim()).value_or(0.0);
  return sum / static_cast<double>(agents_);
}

void Method::step(BatchRef X, std::int64_t k, std::uint64_t seed, std::uint64_t first_replica,
                  MethodWorkspace& ws, RowVectorRef step_sizes) const {
  prepare(X, ws);
  ws.direction.setZero();
  if (sign_law_) {  // every agent of a column in turn, sharing the brackets of equal scales
    for (Index c = 0; c < X.cols(); ++c) {
      double bracketed_scale = std::numeric_limits<double>::quiet_NaN();
      std::fill(ws.law_sum.begin(), ws.law_sum.end(), 0);
      for (Index i = 0; i < agents_; ++i)
        law_signs(i, draw_context(i, k, seed, first_replica), c, ws, bracketed_scale);
      double* direction = ws.direction.col(c).data();
      for (Index j = 0; j < X.rows(); ++j) direction[j] = ws.law_sum[static_cast<std::size_t>(j)];
    }
    finish(X, k, ws, step_sizes);
    return;
  }
  for (Index i = 0; i < agents_; ++i) {
    if (sparse_) {  // g_i = grad f + noise drawn at the kept coordinates only
      add_kept_coordinates(i, draw_context(i, k, seed, first_replica), ws.gradient,
                           noise_.family() != NoiseModel::Family::kNone, ws);
    } else {
      agent_gradient(i, X, k, seed, first_replica, ws);
      add_agent_message(i, k, seed, first_replica, ws);
    }
  }
  finish(X, k, ws, step_sizes);
}

void Method::add_agent_message(Index agent, std::int64_t k, std::uint64_t seed,
                               std::uint64_t first_replica, MethodWorkspace& ws) const {
  if (!compress_) {
    ws.direction += ws.agent_gradient;
    return;
  }
  const DrawContext ctx = draw_context(agent, k, seed, first_replica);
  const Compressor& compressor = compressor_of(agent);
  if (compressor.sparse()) {
    add_kept_coordinates(agent, ctx, ws.agent_gradient, /*draw_noise=*/false, ws);
  } else if (compressor.accumulates()) {
    compressor.accumulate(ws.agent_gradient, ctx, ws.direction);
  } else {
    compressor.apply(ws.agent_gradient, ctx, ws.message);
    ws.direction += ws.message;
  }
}

void Method::add_kept_coordinates(Index agent, const DrawContext& ctx, const Batch& g_batch,
                                  bool draw_noise, MethodWorkspace& ws) const {
  const Index d = g_batch.rows(), cols = g_batch.cols();
  // Columns in groups whose kept coordinates surely fit the buffers (room for d each): the
  // subsets of the group first, then the noise at all of them in one vectorized draw.
  const Index group = std::max<Index>(1, static_cast<Index>(ws.kept.size()) / d);
  std::uint32_t* kept = ws.kept.data();
  std::uint32_t* column = ws.kept_column.data();
  double* t = ws.kept_values.data();
  Index* count = ws.kept_count.data();
  for (Index c0 = 0; c0 < cols; c0 += group) {
    const Index c1 = std::min(cols, c0 + group);
    const double scale = compressor_of(agent).kept_coordinates(d, ctx, c0, c1, kept, count);
    if (draw_noise) {
      Index n = 0;
      for (Index c = c0; c < c1; ++c) {
        std::fill(column + n, column + n + count[c - c0], static_cast<std::uint32_t>(c));
        n += count[c - c0];
      }
      noise_.draw_at(ctx, column, kept, n, t);
    }
    // The message holds scale * z_j at the kept j and +0.0 elsewhere; adding +0.0 leaves the sum
    // unchanged (it starts at +0.0, so it is never -0.0): the same bits without the d - k zeros.
    for (Index c = c0, e = 0; c < c1; ++c) {
      const double* g = g_batch.col(c).data();
      double* direction = ws.direction.col(c).data();
      const Index end = e + count[c - c0];
      if (!draw_noise) {
        for (; e < end; ++e) direction[kept[e]] += scale * g[kept[e]];
      } else if (noise_.isotropic()) {  // noisy() without the coordinate scale
        const double a = noise_.column_scale(g_batch, c, agent);
        for (; e < end; ++e) direction[kept[e]] += scale * (g[kept[e]] + a * t[e]);
      } else {
        const double a = noise_.column_scale(g_batch, c, agent);
        for (; e < end; ++e)
          direction[kept[e]] += scale * noise_.noisy(g[kept[e]], a, kept[e], t[e]);
      }
    }
  }
}

void Method::law_signs(Index agent, const DrawContext& ctx, Index c, MethodWorkspace& ws,
                       double& bracketed_scale) const {
  const Index d = ws.gradient.rows();
  const double* x = ws.law_x.data();
  const std::uint32_t* below = ws.law_below.data();
  const std::uint32_t* above = ws.law_above.data();
  const double a = noise_.column_scale(ws.gradient, c, agent);
  if (!(a == bracketed_scale)) {
    noise_.standardize(ws.gradient.col(c).data(), a, ws.law_x.data(), d);
    sign_law_->bracket(x, d, ws.law_below.data(), ws.law_above.data());
    bracketed_scale = a;
  }
  // The 32-bit halves of the stream's words, in chunks of whole Philox blocks.
  Philox rng = ctx.stream(c, Purpose::kNoise);
  constexpr Index kChunk = 256;
  std::uint64_t words[kChunk / 2];
  for (Index j0 = 0; j0 < d; j0 += kChunk) {
    const Index n = std::min(kChunk, d - j0);
    rng.words(words, (n + 1) / 2);
    sign_law_->add_signs(x + j0, below + j0, above + j0, words, ctx, c, j0, ws.law_sum.data() + j0,
                         n);
  }
}

void Method::prepare(const ConstBatchRef& X, MethodWorkspace& ws) const {
  if (!minibatch_ || (rule_ == StepRule::kEq15 && norm_of_gradient_))
    objective_.gradient(X, ws.gradient);
}

const Batch& Method::agent_gradient(Index agent, const ConstBatchRef& X, std::int64_t k,
                                    std::uint64_t seed, std::uint64_t first_replica,
                                    MethodWorkspace& ws) const {
  const DrawContext ctx = draw_context(agent, k, seed, first_replica);
  if (sign_law_) {  // the signs themselves: their signs are the agent's message
    for (Index c = 0; c < ws.gradient.cols(); ++c) {
      double bracketed_scale = std::numeric_limits<double>::quiet_NaN();
      std::fill(ws.law_sum.begin(), ws.law_sum.end(), 0);
      law_signs(agent, ctx, c, ws, bracketed_scale);
      double* out = ws.agent_gradient.col(c).data();
      for (Index j = 0; j < ws.gradient.rows(); ++j)
        out[j] = ws.law_sum[static_cast<std::size_t>(j)];
    }
  } else if (minibatch_) {
    // Each agent draws its own minibatch from the objective's data (noise.kind = "minibatch").
    objective_.minibatch_gradient(X, ctx, noise_.batch(), ws.agent_gradient);
  } else {
    noise_.sample(ws.gradient, ctx, ws.agent_gradient);
  }
  return ws.agent_gradient;
}

const Batch& Method::agent_message(Index agent, const ConstBatchRef& X, std::int64_t k,
                                   std::uint64_t seed, std::uint64_t first_replica,
                                   MethodWorkspace& ws) const {
  agent_gradient(agent, X, k, seed, first_replica, ws);
  if (!compress_) return ws.agent_gradient;
  compressor_of(agent).apply(ws.agent_gradient, draw_context(agent, k, seed, first_replica),
                             ws.message);
  return ws.message;
}

void Method::finish(BatchRef X, std::int64_t k, MethodWorkspace& ws,
                    RowVectorRef step_sizes) const {
  if (aggregation_ == Aggregation::kAverage && rule_ == StepRule::kScheduled) {
    // The common case in one pass over the block: the operations of the general path below.
    const double inv = 1.0 / static_cast<double>(agents_);
    const double h = options_.lr * schedule_.multiplier(k);
    step_sizes.setConstant(h);
    for (Index c = 0; c < X.cols(); ++c) {
      double* x = X.col(c).data();
      double* direction = ws.direction.col(c).data();
      for (Index j = 0; j < X.rows(); ++j) {
        const double v = direction[j] * inv;
        direction[j] = v;
        x[j] -= v * h;
      }
    }
    return;
  }
  if (aggregation_ == Aggregation::kMajority) {
    ws.direction = ws.direction.array().sign();
  } else {
    ws.direction *= 1.0 / static_cast<double>(agents_);
  }

  const double eta_k = schedule_.multiplier(k);
  switch (rule_) {
    case StepRule::kScheduled:
      step_sizes.setConstant(options_.lr * eta_k);
      break;
    case StepRule::kEq15: {
      ws.norms = norm_of_gradient_ ? ws.gradient.colwise().norm() : ws.direction.colwise().norm();
      step_sizes =
          (2.0 * options_.eps * eta_k) / ((l0_ + l1_ * ws.norms.array()) * norm_p_ + norm_q_);
      break;
    }
    case StepRule::kNormalized:
      ws.norms = ws.direction.colwise().norm();
      step_sizes = (ws.norms.array() > 0.0).select(options_.lr * eta_k / ws.norms.array(), 0.0);
      break;
  }
  X.noalias() -= ws.direction * step_sizes.asDiagonal();
}

}  // namespace dcsde
