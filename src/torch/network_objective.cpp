#include "network_objective.hpp"

#include <algorithm>
#include <numeric>

#include "dcsde/core/error.hpp"
#include "dcsde/core/rng.hpp"
#include "dcsde/torch/torch.hpp"

namespace dcsde::torch_networks {
namespace {

// Fashion-MNIST's pixel mean and standard deviation (of x / 255 over the training set).
constexpr double kPixelMean = 0.2860;
constexpr double kPixelStd = 0.3530;

torch::Tensor bytes_tensor(const std::vector<std::uint8_t>& bytes) {
  return torch::from_blob(const_cast<std::uint8_t*>(bytes.data()),
                          {static_cast<std::int64_t>(bytes.size())}, torch::kUInt8)
      .clone();
}

torch::Tensor image_tensor(const ImageSet& set) {
  return torch::from_blob(const_cast<std::uint8_t*>(set.pixels.data()),
                          {set.count, 1, set.rows, set.cols}, torch::kUInt8)
      .clone();
}

torch::Tensor label_tensor(const ImageSet& set) {
  return torch::from_blob(const_cast<std::uint8_t*>(set.labels.data()), {set.count}, torch::kUInt8)
      .to(torch::kInt64);
}

// `count` distinct indices in [0, n) (all of them, in order, when count >= n), drawn from
// Philox(seed, purpose kProblem): the fixed batch is part of the problem, like its data.
torch::Tensor fixed_indices(std::int64_t n, std::int64_t count, std::uint64_t seed,
                            std::uint32_t salt) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  if (count < n) {
    Philox rng(seed, 0, salt, Purpose::kProblem, 0);
    for (std::int64_t i = 0; i < count; ++i) {  // partial Fisher-Yates
      const auto j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i)));
      std::swap(all[static_cast<std::size_t>(i)], all[static_cast<std::size_t>(j)]);
    }
    all.resize(static_cast<std::size_t>(count));
    std::sort(all.begin(), all.end());
  }
  return torch::tensor(all, torch::kInt64);
}

}  // namespace

NetworkObjective::NetworkObjective(const ObjectiveOptions& objective_options)
    : options_(resolved_sizes(objective_options.network)) {
  const NetworkOptions& o = options_;
  if (o.precision != "float32" && o.precision != "float64") {
    throw ConfigError("problem.precision",
                      "problem.precision = \"" + o.precision +
                          "\". Violated constraint: precision is float32 or float64.");
  }
  if (o.full_batch < 1) {
    throw ConfigError("problem.full_batch", "problem.full_batch = " + std::to_string(o.full_batch) +
                                                ". Violated constraint: full_batch >= 1.");
  }
  if (o.test_examples < 0) {
    throw ConfigError("problem.test_examples",
                      "problem.test_examples = " + std::to_string(o.test_examples) +
                          ". Violated constraint: test_examples >= 0.");
  }
  const bool wants_text = o.model == "gpt";
  if (o.dataset == "text" && !wants_text) {
    throw ConfigError("problem.dataset",
                      "problem.dataset = \"text\": model = \"" + o.model +
                          "\" classifies images; the text dataset needs model = \"gpt\"");
  }
  if (o.dataset == "fashion_mnist" && wants_text) {
    throw ConfigError("problem.dataset",
                      "problem.dataset = \"fashion_mnist\": model = \"gpt\" reads text; set "
                      "dataset = \"text\"");
  }
  if (o.dataset != "text" && o.dataset != "fashion_mnist") {
    throw ConfigError("problem.dataset",
                      "problem.dataset = \"" + o.dataset +
                          "\". Violated constraint: dataset is fashion_mnist or text.");
  }
  torch::set_num_threads(std::max(1, o.threads));
  // oneDNN's convolution backward for these small batches ran ~100x slower than ATen's own
  // kernels on this machine (a 2-step ResNet took minutes); the native path is used instead.
  at::globalContext().setUserEnabledMkldnn(false);
  dtype_ = o.precision == "float64" ? torch::kFloat64 : torch::kFloat32;
  network_ = make_network(o, objective_options.seed);
  network_->to(dtype_);
  parameters_ = network_->parameters();
  for (const auto& p : parameters_) dim_ += p.numel();
  initial_ = read_parameters();

  const std::uint64_t seed = objective_options.seed;
  text_ = wants_text;
  if (text_) {
    const TextDataset& data = load_jane_austen(o.data_path);
    train_data_ = bytes_tensor(data.train);
    train_count_ = train_data_.numel() - o.context;  // windows of context + 1 bytes
    full_batch_ = training_batch(fixed_indices(train_count_, o.full_batch, seed, 1));
    if (o.test_examples > 0) {
      const torch::Tensor test = bytes_tensor(data.test);
      const std::int64_t windows = test.numel() - o.context;
      // Evenly spaced windows over the held-out tenth of the novels.
      const auto starts = torch::linspace(0, static_cast<double>(windows - 1),
                                          std::min<std::int64_t>(o.test_examples, windows))
                              .to(torch::kInt64);
      const auto index = starts.unsqueeze(1) + torch::arange(o.context + 1).unsqueeze(0);
      const auto windows_bytes = test.index_select(0, index.flatten()).view(index.sizes());
      test_batch_ = {windows_bytes.narrow(1, 0, o.context).to(torch::kInt64),
                     windows_bytes.narrow(1, 1, o.context).to(torch::kInt64)};
    }
  } else {
    const ImageDataset& data = load_fashion_mnist(o.data_path);
    train_data_ = image_tensor(data.train);
    train_labels_ = label_tensor(data.train);
    train_count_ = data.train.count;
    full_batch_ = training_batch(fixed_indices(train_count_, o.full_batch, seed, 1));
    if (o.test_examples > 0) {
      const auto index = fixed_indices(data.test.count, o.test_examples, seed, 2);
      const auto images = image_tensor(data.test).index_select(0, index);
      test_batch_ = {images.to(dtype_).div(255.0).sub(kPixelMean).div(kPixelStd),
                     label_tensor(data.test).index_select(0, index)};
    }
  }
}

NetworkObjective::Batch NetworkObjective::training_batch(const torch::Tensor& indices) const {
  if (text_) {
    const auto index = indices.unsqueeze(1) + torch::arange(options_.context + 1).unsqueeze(0);
    const auto windows = train_data_.index_select(0, index.flatten()).view(index.sizes());
    return {windows.narrow(1, 0, options_.context).to(torch::kInt64),
            windows.narrow(1, 1, options_.context).to(torch::kInt64)};
  }
  // In place after the conversion: the same arithmetic, one tensor instead of four.
  auto images = train_data_.index_select(0, indices).to(dtype_);
  images.div_(255.0).sub_(kPixelMean).div_(kPixelStd);
  return {images, train_labels_.index_select(0, indices)};
}

torch::Tensor NetworkObjective::loss(const Batch& batch) const {
  const auto logits = network_->forward(batch.input);
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                              batch.target.reshape({-1}));
}

Vector NetworkObjective::read_parameters() const {
  Vector x(dim_);
  Index at = 0;
  for (const auto& p : parameters_) {
    const auto values = p.detach().to(torch::kFloat64).contiguous();
    std::copy_n(values.data_ptr<double>(), values.numel(), x.data() + at);
    at += values.numel();
  }
  return x;
}

void NetworkObjective::write_parameters(const ConstVectorRef& x) const {
  if (x.size() != dim_)
    throw ConfigError("torch " + options_.model + ": a state of " + std::to_string(x.size()) +
                      " values for a network of " + std::to_string(dim_) + " parameters");
  torch::NoGradGuard no_grad;
  Index at = 0;
  for (const auto& p : parameters_) {
    const auto values =
        torch::from_blob(const_cast<double*>(x.data() + at), {p.numel()}, torch::kFloat64);
    p.view({-1}).copy_(values);  // rounds to float32 in the default precision
    at += p.numel();
  }
}

void NetworkObjective::gradient_on(const ConstVectorRef& x, const Batch& batch, VectorRef g) const {
  write_parameters(x);
  network_->zero_grad();
  loss(batch).backward();
  // Each parameter's gradient goes straight into its slice of g (float32 -> double is exact):
  // no concatenated copy, no temporary of d doubles (docs/performance-networks.md).
  Index at = 0;
  for (const auto& p : parameters_) {
    const auto n = p.numel();
    if (p.grad().defined()) {
      torch::from_blob(g.data() + at, {n}, torch::kFloat64).copy_(p.grad().reshape({-1}));
    } else {
      g.segment(at, n).setZero();
    }
    at += n;
  }
}

void NetworkObjective::value(const ConstBatchRef& X, RowVectorRef values) const {
  std::lock_guard<std::mutex> lock(mutex_);
  torch::NoGradGuard no_grad;
  for (Index c = 0; c < X.cols(); ++c) {
    write_parameters(X.col(c));
    values(c) = loss(full_batch_).item<double>();
  }
}

void NetworkObjective::gradient(const ConstBatchRef& X, BatchRef G) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Index c = 0; c < X.cols(); ++c) gradient_on(X.col(c), full_batch_, G.col(c));
}

void NetworkObjective::hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const {
  // Pearlmutter's trick by double backward: H v = grad (grad f . v).
  std::lock_guard<std::mutex> lock(mutex_);
  for (Index c = 0; c < X.cols(); ++c) {
    write_parameters(X.col(c));
    network_->zero_grad();
    const auto grads = torch::autograd::grad({loss(full_batch_)}, parameters_, {},
                                             /*retain_graph=*/true, /*create_graph=*/true);
    torch::Tensor dot = torch::zeros({}, dtype_);
    Index at = 0;
    for (std::size_t i = 0; i < grads.size(); ++i) {
      const auto n = parameters_[i].numel();
      const auto v =
          torch::from_blob(const_cast<double*>(V.col(c).data() + at), {n}, torch::kFloat64)
              .to(dtype_);
      dot = dot + (grads[i].reshape({-1}) * v).sum();
      at += n;
    }
    const auto hv = torch::autograd::grad({dot}, parameters_, {}, false, false, true);
    at = 0;
    for (std::size_t i = 0; i < hv.size(); ++i) {
      const auto n = parameters_[i].numel();
      const auto values = hv[i].defined() ? hv[i].reshape({-1}).to(torch::kFloat64).contiguous()
                                          : torch::zeros({n}, torch::kFloat64);
      std::copy_n(values.data_ptr<double>(), n, HV.col(c).data() + at);
      at += n;
    }
  }
}

void NetworkObjective::minibatch_gradient(const ConstBatchRef& X, const DrawContext& ctx,
                                          Index batch, BatchRef G) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::int64_t> indices(static_cast<std::size_t>(batch));
  for (Index c = 0; c < X.cols(); ++c) {
    Philox rng = ctx.stream(c, Purpose::kNoise);
    for (auto& i : indices)
      i = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(train_count_)));
    gradient_on(X.col(c), training_batch(torch::tensor(indices, torch::kInt64)), G.col(c));
  }
}

std::vector<std::pair<std::string, double>> NetworkObjective::evaluate(
    const ConstVectorRef& x) const {
  if (!test_batch_.input.defined()) return {};
  std::lock_guard<std::mutex> lock(mutex_);
  torch::NoGradGuard no_grad;
  write_parameters(x);
  const auto logits = network_->forward(test_batch_.input);
  const auto flat = logits.reshape({-1, logits.size(-1)});
  const auto target = test_batch_.target.reshape({-1});
  const double test_loss = torch::nn::functional::cross_entropy(flat, target).item<double>();
  if (text_) return {{"test_loss", test_loss}, {"test_perplexity", std::exp(test_loss)}};
  const double accuracy = flat.argmax(1).eq(target).to(torch::kFloat64).mean().item<double>();
  return {{"test_loss", test_loss}, {"test_accuracy", accuracy}};
}

void install() {
  install_network_factory([](const ObjectiveOptions& o) -> std::unique_ptr<Objective> {
    return std::make_unique<NetworkObjective>(o);
  });
}

std::string version() {
  return "LibTorch " + std::to_string(TORCH_VERSION_MAJOR) + "." +
         std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace dcsde::torch_networks
