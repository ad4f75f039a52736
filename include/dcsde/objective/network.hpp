// Options of objective = "torch" (neural networks on real data) and the hook through which the
// torch module (include/dcsde/torch, src/torch: the only code that includes LibTorch) provides
// the objective. The rest of the library sees a network as any other Objective: a flat parameter
// vector x in R^d, batched value/gradient/hvp, minibatch gradients and held-out metrics.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dcsde/core/types.hpp"

namespace dcsde {

class Objective;
struct ObjectiveOptions;

struct NetworkOptions {
  std::string model = "mlp";              // mlp | resnet | vit | gpt
  std::string dataset = "fashion_mnist";  // fashion_mnist | text
  std::string data_path;                  // empty: the Debian package's location
  Index width =
      0;  // mlp: hidden units; resnet: channels; vit, gpt: embedding width (0: model default)
  Index depth = 0;     // mlp: hidden layers; resnet: residual blocks; vit, gpt: blocks (0: default)
  Index heads = 4;     // vit, gpt: attention heads (divides width)
  Index patch = 7;     // vit: patch side in pixels (divides 28)
  Index context = 32;  // gpt: characters of context
  Index full_batch = 1024;            // examples of the fixed batch behind f, grad f and the curves
  Index test_examples = 2000;         // held-out examples for the final test metrics (0: none)
  std::string precision = "float32";  // float32 | float64 (exact finite-difference checks)
  int threads = 1;  // LibTorch intra-op threads (set from run.threads by config/assemble)
};

// The factory of objective = "torch"; empty when this build has no LibTorch.
using NetworkFactory = std::unique_ptr<Objective> (*)(const ObjectiveOptions&);
void install_network_factory(NetworkFactory factory);
NetworkFactory network_factory();

}  // namespace dcsde
