// objective = "torch": a LibTorch network on real data as an Objective (objective/objective.hpp).
//
// The state x in R^d is the network's parameters, flattened in module registration order; the
// network computes in problem.precision (float32 by default), x stays in double. f(x) is the mean
// cross-entropy over a fixed batch of `full_batch` training examples (drawn once from
// problem.seed), and grad f is its exact gradient (autograd), so that injected noise models
// reproduce the papers' validation protocol (full-batch gradient + noise). With
// noise.kind = "minibatch", each (replica, agent, step) draws its own B training examples
// uniformly with replacement from its Philox noise stream.
//
// LibTorch modules hold their parameters: calls are serialised by a mutex (the network runs on
// problem.threads intra-op threads instead; replicas of a network are few).
#pragma once

#include <torch/torch.h>

#include <mutex>

#include "datasets.hpp"
#include "dcsde/objective/objective.hpp"
#include "models.hpp"

namespace dcsde::torch_networks {

class NetworkObjective final : public Objective {
 public:
  explicit NetworkObjective(const ObjectiveOptions& options);

  Index dim() const override { return dim_; }
  std::string name() const override { return "torch"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override { return {}; }

  bool has_minibatches() const override { return true; }
  void minibatch_gradient(const ConstBatchRef& X, const DrawContext& ctx, Index batch,
                          BatchRef G) const override;
  std::optional<Vector> initial_point() const override { return initial_; }
  std::vector<std::pair<std::string, double>> evaluate(const ConstVectorRef& x) const override;

  // Parameters <-> flat vector (exposed for tests): write_parameters(read_parameters()) is exact.
  Vector read_parameters() const;
  void write_parameters(const ConstVectorRef& x) const;
  const NetworkOptions& options() const { return options_; }

 private:
  struct Batch {
    torch::Tensor input, target;
  };
  // Training examples by index (image index, or start of a byte window).
  Batch training_batch(const torch::Tensor& indices) const;
  // Mean cross-entropy of the network on a batch (logits over the last dimension).
  torch::Tensor loss(const Batch& batch) const;
  // Loads x, computes the loss on `batch` and writes its gradient into g.
  void gradient_on(const ConstVectorRef& x, const Batch& batch, VectorRef g) const;

  NetworkOptions options_;
  torch::Dtype dtype_;
  std::shared_ptr<Network> network_;
  std::vector<torch::Tensor> parameters_;
  Index dim_ = 0;
  Vector initial_;
  bool text_ = false;
  std::int64_t train_count_ = 0;  // images, or valid window starts
  torch::Tensor train_data_;      // uint8: [n, 1, 28, 28] images or [bytes] text
  torch::Tensor train_labels_;    // int64 [n] (images)
  Batch full_batch_, test_batch_;
  mutable std::mutex mutex_;
};

}  // namespace dcsde::torch_networks
