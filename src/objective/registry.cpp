#include "dcsde/objective/objective.hpp"
