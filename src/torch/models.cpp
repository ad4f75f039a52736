#include "models.hpp"

#include <cmath>

#include "dcsde/core/error.hpp"

namespace dcsde::torch_networks {
namespace {

namespace nn = torch::nn;

class Mlp final : public Network {
 public:
  Mlp(std::int64_t width, std::int64_t depth) {
    std::int64_t in = 28 * 28;
    for (std::int64_t i = 0; i < depth; ++i) {
      layers_->push_back(nn::Linear(in, width));
      layers_->push_back(nn::ReLU());
      in = width;
    }
    layers_->push_back(nn::Linear(in, 10));
    register_module("layers", layers_);
  }
  torch::Tensor forward(const torch::Tensor& input) override {
    return layers_->forward(input.flatten(1));
  }

 private:
  nn::Sequential layers_;
};

nn::Conv2d conv3x3(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

// Groups of GroupNorm: 8 channels per group where possible.
nn::GroupNorm group_norm(std::int64_t channels) {
  const std::int64_t groups = channels % 8 == 0 ? channels / 8 : 1;
  return nn::GroupNorm(nn::GroupNormOptions(groups, channels));
}

class ResidualBlock final : public nn::Module {
 public:
  explicit ResidualBlock(std::int64_t channels)
      : conv1_(register_module("conv1", conv3x3(channels, channels, 1))),
        norm1_(register_module("norm1", group_norm(channels))),
        conv2_(register_module("conv2", conv3x3(channels, channels, 1))),
        norm2_(register_module("norm2", group_norm(channels))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(norm1_(conv1_(x)));
    y = norm2_(conv2_(y));
    return torch::relu(y + x);
  }

 private:
  nn::Conv2d conv1_;
  nn::GroupNorm norm1_;
  nn::Conv2d conv2_;
  nn::GroupNorm norm2_;
};

class ResNet final : public Network {
 public:
  ResNet(std::int64_t channels, std::int64_t depth)
      : stem_(register_module("stem", conv3x3(1, channels, 2))),
        stem_norm_(register_module("stem_norm", group_norm(channels))),
        head_(register_module("head", nn::Linear(channels, 10))) {
    for (std::int64_t i = 0; i < depth; ++i) {
      blocks_.push_back(
          register_module("block" + std::to_string(i), std::make_shared<ResidualBlock>(channels)));
    }
  }
  torch::Tensor forward(const torch::Tensor& input) override {
    auto x = torch::relu(stem_norm_(stem_(input)));
    for (auto& block : blocks_) x = block->forward(x);
    return head_(x.mean({2, 3}));
  }

 private:
  nn::Conv2d stem_;
  nn::GroupNorm stem_norm_;
  std::vector<std::shared_ptr<ResidualBlock>> blocks_;
  nn::Linear head_;
};

// Multi-head self-attention; `causal` masks the future (GPT).
class Attention final : public nn::Module {
 public:
  Attention(std::int64_t width, std::int64_t heads, bool causal)
      : heads_(heads),
        causal_(causal),
        qkv_(register_module("qkv", nn::Linear(width, 3 * width))),
        out_(register_module("out", nn::Linear(width, width))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const auto b = x.size(0), t = x.size(1), w = x.size(2), hd = w / heads_;
    auto qkv = qkv_(x).view({b, t, 3, heads_, hd}).permute({2, 0, 3, 1, 4});
    auto q = qkv[0], k = qkv[1], v = qkv[2];  // [b, heads, t, hd]
    auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
    if (causal_) {
      auto mask = torch::ones({t, t}, torch::TensorOptions().dtype(torch::kBool)).triu(1);
      scores = scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
    }
    auto y = torch::matmul(torch::softmax(scores, -1), v);  // [b, heads, t, hd]
    return out_(y.transpose(1, 2).reshape({b, t, w}));
  }

 private:
  std::int64_t heads_;
  bool causal_;
  nn::Linear qkv_, out_;
};

class TransformerBlock final : public nn::Module {
 public:
  TransformerBlock(std::int64_t width, std::int64_t heads, bool causal)
      : norm1_(register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({width})))),
        attention_(register_module("attention", std::make_shared<Attention>(width, heads, causal))),
        norm2_(register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({width})))),
        mlp_(register_module("mlp", nn::Sequential(nn::Linear(width, 4 * width), nn::GELU(),
                                                   nn::Linear(4 * width, width)))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = x + attention_->forward(norm1_(x));
    return y + mlp_->forward(norm2_(y));
  }

 private:
  nn::LayerNorm norm1_;
  std::shared_ptr<Attention> attention_;
  nn::LayerNorm norm2_;
  nn::Sequential mlp_;
};

class VisionTransformer final : public Network {
 public:
  VisionTransformer(std::int64_t width, std::int64_t depth, std::int64_t heads, std::int64_t patch)
      : embed_(
            register_module("embed", nn::Conv2d(nn::Conv2dOptions(1, width, patch).stride(patch)))),
        positions_(register_parameter(
            "positions", 0.02 * torch::randn({1, (28 / patch) * (28 / patch), width}))),
        norm_(register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width})))),
        head_(register_module("head", nn::Linear(width, 10))) {
    for (std::int64_t i = 0; i < depth; ++i) {
      blocks_.push_back(register_module("block" + std::to_string(i),
                                        std::make_shared<TransformerBlock>(width, heads, false)));
    }
  }
  torch::Tensor forward(const torch::Tensor& input) override {
    auto x = embed_(input).flatten(2).transpose(1, 2) + positions_;  // [B, tokens, width]
    for (auto& block : blocks_) x = block->forward(x);
    return head_(norm_(x).mean(1));
  }

 private:
  nn::Conv2d embed_;
  torch::Tensor positions_;
  std::vector<std::shared_ptr<TransformerBlock>> blocks_;
  nn::LayerNorm norm_;
  nn::Linear head_;
};

class Gpt final : public Network {
 public:
  Gpt(std::int64_t width, std::int64_t depth, std::int64_t heads, std::int64_t context)
      : embed_(register_module("embed", nn::Embedding(256, width))),
        positions_(register_parameter("positions", 0.02 * torch::randn({1, context, width}))),
        norm_(register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width})))),
        head_(register_module("head", nn::Linear(width, 256))) {
    for (std::int64_t i = 0; i < depth; ++i) {
      blocks_.push_back(register_module("block" + std::to_string(i),
                                        std::make_shared<TransformerBlock>(width, heads, true)));
    }
  }
  torch::Tensor forward(const torch::Tensor& input) override {
    const auto t = input.size(1);
    auto x = embed_(input) + positions_.narrow(1, 0, t);
    for (auto& block : blocks_) x = block->forward(x);
    return head_(norm_(x));
  }

 private:
  nn::Embedding embed_;
  torch::Tensor positions_;
  std::vector<std::shared_ptr<TransformerBlock>> blocks_;
  nn::LayerNorm norm_;
  nn::Linear head_;
};

void require(bool ok, const std::string& key, const std::string& message) {
  if (!ok) throw ConfigError(key, message);
}

}  // namespace

NetworkOptions resolved_sizes(const NetworkOptions& options) {
  NetworkOptions o = options;
  const std::string& m = o.model;
  if (o.width == 0) o.width = m == "mlp" ? 128 : m == "resnet" ? 16 : 64;
  if (o.depth == 0) o.depth = 2;
  return o;
}

std::shared_ptr<Network> make_network(const NetworkOptions& options, std::uint64_t seed) {
  const NetworkOptions o = resolved_sizes(options);
  require(o.width >= 1, "problem.width",
          "problem.width = " + std::to_string(o.width) + ". Violated constraint: width >= 1.");
  require(o.depth >= 1, "problem.depth",
          "problem.depth = " + std::to_string(o.depth) + ". Violated constraint: depth >= 1.");
  torch::manual_seed(seed);
  if (o.model == "mlp") return std::make_shared<Mlp>(o.width, o.depth);
  if (o.model == "resnet") return std::make_shared<ResNet>(o.width, o.depth);
  if (o.model == "vit" || o.model == "gpt") {
    require(o.heads >= 1 && o.width % o.heads == 0, "problem.heads",
            "problem.heads = " + std::to_string(o.heads) +
                ". Violated constraint: heads >= 1 divides width (= " + std::to_string(o.width) +
                ").");
    if (o.model == "vit") {
      require(o.patch >= 1 && 28 % o.patch == 0, "problem.patch",
              "problem.patch = " + std::to_string(o.patch) +
                  ". Violated constraint: patch divides 28 (1, 2, 4, 7, 14 or 28).");
      return std::make_shared<VisionTransformer>(o.width, o.depth, o.heads, o.patch);
    }
    require(
        o.context >= 1, "problem.context",
        "problem.context = " + std::to_string(o.context) + ". Violated constraint: context >= 1.");
    return std::make_shared<Gpt>(o.width, o.depth, o.heads, o.context);
  }
  throw ConfigError("problem.model",
                    "problem.model = \"" + o.model +
                        "\". Violated constraint: model is one of mlp, resnet, vit, gpt.");
}

}  // namespace dcsde::torch_networks
