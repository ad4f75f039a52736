#include "dcsde/core/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace dcsde {

void assertion_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "dcsde: internal error at %s:%d: %s (%s)\n", file, line, msg, expr);
  std::abort();
}

}  // namespace dcsde
