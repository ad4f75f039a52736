// The small error hierarchy of dcsde (STYLE.md "Errors").
//
// Exceptions are for bad input and broken environments: a malformed experiment file, a corrupted
// wire message, an unwritable results folder. Numerical outcomes (a diverging replica) are data,
// never exceptions. The CLI catches `Error` at the top, prints `what()` and exits non-zero.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace dcsde {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An experiment file or command-line value that violates the schema. `what()` reads like
//   exp.toml:7:6: noise.nu = -1. Violated constraint: nu > 0.
//
// An error about one key carries it (`key()`, e.g. "method.kind"; its message starts with it), so
// that config/parse.cpp prefixes the file:line:col where the key was written without reading the
// message's text. An error about no single key has an empty key.
class ConfigError : public Error {
 public:
  using Error::Error;
  ConfigError(std::string key, const std::string& message) : Error(message), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// A compressed message that cannot be decoded: truncated, or a field out of range. `what()`
// names the compressor, the byte offset and what was expected there.
class WireFormatError : public Error {
 public:
  WireFormatError(const std::string& compressor, std::size_t byte_offset, const std::string& what)
      : Error(compressor + " message, byte " + std::to_string(byte_offset) + ": " + what),
        byte_offset_(byte_offset) {}
  std::size_t byte_offset() const { return byte_offset_; }

 private:
  std::size_t byte_offset_;
};

// A file or folder that cannot be read or written.
class IoError : public Error {
 public:
  using Error::Error;
};

// A programmer error: a broken invariant inside the library. On in every build type because
// the checks guard O(1) preconditions of batched calls, never per-coordinate work.
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const char* msg);

}  // namespace dcsde

#define DCSDE_ASSERT(expr, msg) \
  ((expr) ? static_cast<void>(0) : ::dcsde::assertion_failed(#expr, __FILE__, __LINE__, msg))
