// The LibTorch module's entry points that the rest of the program may call. This header does not
// include LibTorch (DESIGN.md: only src/torch compiles against it), so the CLI stays fast to build.
#pragma once

#include <string>

namespace dcsde::torch_networks {

// Makes objective = "torch" available (objective/network.hpp's factory).
void install();
// "LibTorch 1.13.0" (for --version and dcsde list).
std::string version();

}  // namespace dcsde::torch_networks
