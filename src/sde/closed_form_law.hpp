// Internal: the closed-form law of the averaged methods with identity, Bernoulli or rand-k
// compression (Thm 1) and of the sign methods (sde/law.hpp, papers.md 5.1, 7.3, 8.3).
#pragma once

#include <memory>

#include "dcsde/sde/law.hpp"

namespace dcsde::detail {

// Which closed form: the averaged direction with the compressor's CompressionLaw, or the signs.
enum class ClosedFormKind { kAverage, kBernoulli, kRandK, kSign, kMajority };
// How h_k depends on the averaged direction D (only with kAverage, kBernoulli, kRandK):
// scheduled eta eta_k; nsgd eta eta_k / ||D||; Eq. 15 of ||D|| (delta method) or of ||grad f||
// (exact).
enum class ClosedFormStep { kScheduled, kNsgd, kEq15Aggregate, kEq15Gradient };

std::unique_ptr<UpdateLaw> make_closed_form_law(const Method& method, ClosedFormKind kind,
                                                ClosedFormStep rule);

}  // namespace dcsde::detail
