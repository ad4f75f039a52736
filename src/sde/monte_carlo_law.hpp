// The Monte Carlo update law (sde/law.hpp): for laws without a closed form, the mean and
// covariance of the method's one-step update estimated from M samples of it. Internal to src/sde:
// make_update_law chooses it.
#pragma once
#include <memory>

#include "dcsde/sde/law.hpp"

namespace dcsde {

std::unique_ptr<UpdateLaw> make_monte_carlo_law(const Method& method, Index samples);

}  // namespace dcsde
