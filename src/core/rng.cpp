#include "dcsde/core/rng.hpp"
