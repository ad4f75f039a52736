// The four networks (issue 5): small enough that a few hundred steps run in minutes on 2 cores.
//   mlp     flatten -> [Linear(width) -> ReLU] x depth -> Linear(10)
//   resnet  Conv3x3 stride 2 (width ch.) -> GN -> ReLU -> depth x residual block
//           [Conv3x3 -> GN -> ReLU -> Conv3x3 -> GN, + skip, ReLU] -> global mean pool ->
//           Linear(10) GroupNorm, not BatchNorm: no running statistics, so the flat parameter
//           vector is the network's whole state (checkpoints, replicas and agents stay exact).
//   vit     patch embedding (Conv patch x patch, stride patch) + learned positions ->
//           depth x pre-norm block [LN -> multi-head attention, LN -> MLP 4 width] -> LN ->
//           mean over tokens -> Linear(10)
//   gpt     byte embedding + learned positions -> depth x pre-norm block with causal attention ->
//           LN -> Linear(256): next-byte logits at every position
// Attention is written with matmul and softmax (LibTorch 1.13 has no scaled_dot_product_attention).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "dcsde/objective/network.hpp"

namespace dcsde::torch_networks {

// A network maps a batch of inputs to logits: images [B, 1, 28, 28] -> [B, 10], byte windows
// [B, T] (int64) -> [B, T, 256].
class Network : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;
};

// The resolved sizes (width, depth 0 replaced by the model's defaults), for docs and errors.
NetworkOptions resolved_sizes(const NetworkOptions& options);

// Builds options.model with parameters initialised from torch's generator seeded with `seed`.
// Throws ConfigError for an unknown model or sizes that do not fit (e.g. heads not dividing width).
std::shared_ptr<Network> make_network(const NetworkOptions& options, std::uint64_t seed);

}  // namespace dcsde::torch_networks
