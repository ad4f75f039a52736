// Method: one step of a distributed optimizer over N agents (papers.md 2).
//
// Every method is the random update  x_{k+1} = x_k - h_k * D(x_k)  with
//   g_i = grad f(x_k) + Z_i                       (agent i's stochastic gradient, NoiseModel)
//   m_i = C_i(g_i)                                (agent i's message, Compressor)
//   D   = (1/N) sum_i m_i                         (server average), or sign(sum_i m_i) (majority)
//   h_k = eta * eta_k                             (Schedule), or a normalized step:
// kinds:
//   dsgd             C = identity, average                                   [2.1]
//   dcsgd            C any unbiased compressor, average                      [2.2]
//   dsignsgd         C = sign, average of the signs (no majority vote)       [2.3]
//   majority_vote    C = sign, server sends sign(sum_i sign(g_i))            [STD, signSGD-MV]
//   normalized_dcsgd C unbiased, average, h_k = eta_k * 2 eps / ((L0 + L1 ||g_k||) P + Q)
//                      P = 1 + (omega + d (mean(s1^2)(1 + omega)))/N,
//                      Q = L1 d mean(s0^2) (1 + omega) / N                    [2.5 Eq.15,
//                      DERIVED/GUESS]
//   nsgd             C any unbiased (identity by default), average, h_k = eta eta_k / ||D||
// where ||g_k|| is ||D|| (norm_of = "aggregate", what a server can compute) or the exact
// ||grad f(x_k)|| (norm_of = "gradient", an oracle for experiments).
//
// The sampling view lives here; the law view (mean and covariance of D, for the SDE) is added
// beside it by the SDE module so that both read the same options.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dcsde/compress/compressor.hpp"
#include "dcsde/core/rng.hpp"
#include "dcsde/core/types.hpp"
#include "dcsde/method/schedule.hpp"
#include "dcsde/noise/noise_model.hpp"
#include "dcsde/noise/sign_law.hpp"
#include "dcsde/objective/objective.hpp"

namespace dcsde {

// The method kinds; their specs are in kind_specs(MethodKind) below.
enum class MethodKind { kDsgd, kDcsgd, kDsignsgd, kMajorityVote, kNormalizedDcsgd, kNsgd };
// method.sign_draw, method.norm_of (see MethodOptions).
enum class SignDraw { kNoise, kLaw };
enum class NormOf { kAggregate, kGradient };

struct MethodOptions {
  MethodKind kind = MethodKind::kDsgd;
  double lr = 0.01;  // eta (unused by normalized_dcsgd, whose step is eps-driven)
  ScheduleOptions schedule;
  std::int64_t steps = 1000;
  // normalized_dcsgd (Eq. 15): eps in (0,1); L0, L1 default to the objective's constants;
  // sigma0, sigma1 default to the noise model's (affine kinds) or (sigma, 0) otherwise.
  double eps = 0.5;
  std::optional<double> L0, L1, sigma0, sigma1;
  NormOf norm_of = NormOf::kAggregate;
  bool allow_biased = false;  // dcsgd with a biased compressor (top_k), at the user's risk
  // dsignsgd, majority_vote: how an agent's sign is drawn. kNoise: the noise T, then
  // sign(g + s T) (what a transport encodes, bit for bit). kLaw: the sign itself, +1 with
  // probability F(g / s), from one uniform per coordinate (noise/sign_law.hpp): the same law,
  // other bits, about 10x fewer operations under Student-t noise.
  SignDraw sign_draw = SignDraw::kNoise;
};

// What a method asks of the compressor.
enum class CompressorNeed { kIdentity, kUnbiased, kSigns };
// How the server combines the messages: their mean, or the sign of their sum (majority vote).
enum class Aggregation { kAverage, kMajority };
// The step size h_k: eta eta_k (kScheduled), eta eta_k / ||D|| (kNormalized) or Eq. 15 (kEq15).
enum class StepRule { kScheduled, kNormalized, kEq15 };
// Which of paper 1's results cover the method: Thm 3 and the DCSGD scaling rules (kDcsgd), Thm 4
// and the DSignSGD rules (kDsignsgd), or none.
enum class PaperOneTheory { kNone, kDcsgd, kDsignsgd };

// One method kind, declared once (core/kind.hpp).
struct MethodSpec {
  MethodKind kind;
  std::string_view name, meaning;
  CompressorNeed needs;
  Aggregation aggregation;
  StepRule rule;
  bool reads_lr;  // false: the step comes from eps (Eq. 15) and method.lr is not set
  PaperOneTheory theory;
};
std::span<const MethodSpec> kind_specs(MethodKind);

struct SignDrawSpec {
  SignDraw kind;
  std::string_view name, meaning;
};
std::span<const SignDrawSpec> kind_specs(SignDraw);

struct NormOfSpec {
  NormOf kind;
  std::string_view name, meaning;
};
std::span<const NormOfSpec> kind_specs(NormOf);

// Scratch buffers of one column block; sized once, reused every step (no allocation in the loop).
struct MethodWorkspace {
  Batch gradient, agent_gradient, message, direction;
  RowVector norms;
  // The sparse path of Method::step: kept coordinates of a group of columns, their columns, the
  // noise values there, and the count kept per column.
  std::vector<std::uint32_t> kept, kept_column;
  std::vector<double> kept_values;
  std::vector<Index> kept_count;
  // method.sign_draw = "law": one column's standardized gradient g / s, the word limits of
  // F(g / s) (noise/sign_law.hpp), shared by the agents with the same scale, and the signs' sum.
  std::vector<double> law_x;
  std::vector<std::uint32_t> law_below, law_above;
  std::vector<std::int32_t> law_sum;
  // agent_gradient and message only with `messages` (agent_gradient / agent_message need them;
  // a sparse step() does not: at d = 1e6 they are 2 x 128 MB per block of 16).
  void resize(Index d, Index cols, bool messages = true);
};

class Method final {
 public:
  // The objective, noise model and compressor must outlive the method. Every agent compresses
  // with `compressor`.
  Method(const MethodOptions& options, const Objective& objective, const NoiseModel& noise,
         const Compressor& compressor, Index agents);
  // Agent i compresses with *compressors[i] (the poster's omega_i per agent), or every agent
  // with *compressors[0] when there is one. The compressors must outlive the method.
  Method(const MethodOptions& options, const Objective& objective, const NoiseModel& noise,
         std::vector<const Compressor*> compressors, Index agents);

  // Advances the block X (d x c, replicas first_replica..) by step k, in place, and writes the
  // step size h_k used for each column into `step_sizes`. It is the three phases below, in order,
  // with the messages summed in agent order 0..N-1 (2a then 2b for each agent). With a sparse
  // compressor (rand_k) and closed-form noise, phase 2 is fused: each column draws its kept
  // coordinates first (Compressor::kept_coordinates) and the noise at those only
  // (NoiseModel::draw_at), and adds scale * g_ij there: the bits of agent_message, with k instead
  // of d noise values per agent.
  void step(BatchRef X, std::int64_t k, std::uint64_t seed, std::uint64_t first_replica,
            MethodWorkspace& ws, RowVectorRef step_sizes) const;

  // The phases of a step, for transports that move the messages between processes (dist/):
  // With method.sign_draw = "law", phase 2 draws each agent's signs from their law instead of
  // its noise (noise/sign_law.hpp); phase 2a then returns the signs as the agent's gradient.
  // 1. ws.gradient = grad f(X), when the step needs it (not for minibatch noise, unless the
  //    step size reads ||grad f||).
  void prepare(const ConstBatchRef& X, MethodWorkspace& ws) const;
  // 2. Agent `agent`'s message C_i(g_i) for every column; returns the buffer that holds it
  //    (ws.message, or ws.agent_gradient when nothing is compressed). Valid until the next call.
  //    It is agent_gradient followed by compressor().apply with draw_context(agent, k, ...).
  const Batch& agent_message(Index agent, const ConstBatchRef& X, std::int64_t k,
                             std::uint64_t seed, std::uint64_t first_replica,
                             MethodWorkspace& ws) const;
  // 2a. Agent `agent`'s stochastic gradient g_i for every column, before compression, in
  //     ws.agent_gradient. A transport encodes column c of it with compressor().encode and the
  //     stream draw_context(agent, k, seed, first_replica).stream(c, Purpose::kCompression):
  //     decoding gives what agent_message returns, bit for bit (the Compressor contract).
  const Batch& agent_gradient(Index agent, const ConstBatchRef& X, std::int64_t k,
                              std::uint64_t seed, std::uint64_t first_replica,
                              MethodWorkspace& ws) const;
  // 2b. ws.direction += agent `agent`'s message C_i(g_i), with g_i in ws.agent_gradient (2a):
  //     what adding agent_message gives, bit for bit, without writing the message where the
  //     compressor allows (rand_k adds its k kept values; sign accumulates, Compressor).
  void add_agent_message(Index agent, std::int64_t k, std::uint64_t seed,
                         std::uint64_t first_replica, MethodWorkspace& ws) const;
  // The name of agent `agent`'s random streams at step k for the block starting at
  // `first_replica` (noise, minibatch and compression draws).
  static DrawContext draw_context(Index agent, std::int64_t k, std::uint64_t seed,
                                  std::uint64_t first_replica) {
    return DrawContext{seed, first_replica, static_cast<std::uint32_t>(agent),
                       static_cast<std::uint64_t>(k)};
  }
  // Whether agent messages go through the compressor (false for identity, whose message is the
  // gradient itself).
  bool compresses() const { return compress_; }
  // Whether step() takes the fused sparse path (then its workspace needs no message buffers).
  bool sparse_step() const { return sparse_; }
  // 3. With ws.direction = sum_i m_i (summed in agent order), aggregates, computes h_k and moves X.
  void finish(BatchRef X, std::int64_t k, MethodWorkspace& ws, RowVectorRef step_sizes) const;

  const MethodOptions& options() const { return options_; }
  Index agents() const { return agents_; }
  const Schedule& schedule() const { return schedule_; }
  // Agent 0's compressor: every agent's when uniform_compressors().
  const Compressor& compressor() const { return *compressors_.front(); }
  const Compressor& compressor_of(Index agent) const {
    return *compressors_[compressors_.size() == 1 ? 0 : static_cast<std::size_t>(agent)];
  }
  bool uniform_compressors() const { return compressors_.size() == 1; }
  // Agent i's compressor at i, or every agent's at 0 (uniform_compressors()).
  std::span<const Compressor* const> compressors() const { return compressors_; }
  // omega_bar = (1/N) sum_i omega_i over the agents (0 for biased compressors).
  double mean_omega() const;
  const NoiseModel& noise() const { return noise_; }
  const Objective& objective() const { return objective_; }
  // Bits one agent sends per step (the compressor's message size for dimension d; the mean over
  // the agents when each has its own).
  double bits_per_agent_per_step() const;
  // Eq. 15's P and Q (normalized_dcsgd), exposed for docs and tests.
  double normalization_p() const { return norm_p_; }
  double normalization_q() const { return norm_q_; }

 private:
  // ws.direction += scale * v at each column's kept coordinates (Compressor::kept_coordinates)
  // for a sparse compressor, v = g + agent `agent`'s noise drawn there only (draw_noise: the fused
  // step) or v = g (g already holds the agent's gradient: add_agent_message).
  void add_kept_coordinates(Index agent, const DrawContext& ctx, const Batch& g, bool draw_noise,
                            MethodWorkspace& ws) const;
  // sign_draw = "law": ws.law_sum += agent `agent`'s signs of column c (from ws.gradient).
  // `bracketed_scale` is the scale whose word limits ws.law_* hold (NaN: none); updated when the
  // agent's differs.
  void law_signs(Index agent, const DrawContext& ctx, Index c, MethodWorkspace& ws,
                 double& bracketed_scale) const;

  MethodOptions options_;
  const Objective& objective_;
  const NoiseModel& noise_;
  std::vector<const Compressor*> compressors_;  // one for every agent, or one per agent
  Index agents_;
  Schedule schedule_;
  Aggregation aggregation_ = Aggregation::kAverage;
  StepRule rule_ = StepRule::kScheduled;
  bool compress_ = true;           // false for the identity compressor: skip the copy
  bool minibatch_ = false;         // agents draw minibatch gradients from the objective's data
  bool norm_of_gradient_ = false;  // Eq. 15 normalizes by ||grad f|| (options_.norm_of)
  bool sparse_ = false;  // the fused path of step() (sparse compressor, closed-form noise)
  std::optional<SignLaw> sign_law_;  // sign_draw = law
  double l0_ = 0, l1_ = 0, norm_p_ = 1, norm_q_ = 0;
};

}  // namespace dcsde
