// Checkpoints of long runs (run.checkpoint_every; `dcsde run --resume DIR`).
//
// The runner (run/runner.hpp) saves its whole state every K steps: the replica states, their
// accumulated times, which replicas are alive, the per-record statistics so far and the tail
// sums. Every random draw is named by (seed, replica, agent, purpose, step), so a run resumed
// from step k draws exactly what the uninterrupted run would have drawn from step k on: the
// results are bit-identical, and an interrupted run loses at most one checkpoint interval.
//
// A checkpoint is one binary file, written as `<file>.tmp`, flushed to disk and renamed over
// `<file>` (rename is atomic), so a crash mid-write leaves the previous checkpoint intact. It
// starts with a magic word, a format version and a fingerprint of what it belongs to (the
// experiment's resolved TOML, its point and its process); loading a file of another experiment,
// a truncated or otherwise malformed file is an IoError that names the file and the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace dcsde {

// Where a run_process call keeps its checkpoint, and the identity the file must carry.
struct CheckpointFile {
  std::filesystem::path path;
  std::uint64_t fingerprint = 0;
};

// FNV-1a, 64 bits: stable across builds and platforms (std::hash is not).
std::uint64_t fingerprint_of(std::string_view text);

// Appends little-endian fields to a buffer; save() writes it atomically.
class CheckpointWriter {
 public:
  explicit CheckpointWriter(std::uint64_t fingerprint);
  void u64(std::uint64_t value);
  void i64(std::int64_t value) { u64(static_cast<std::uint64_t>(value)); }
  void f64(double value);
  void f64s(const double* values, std::size_t n);
  void bytes(const std::uint8_t* values, std::size_t n);
  // Writes `file` atomically (temporary file, fsync, rename). Throws IoError.
  void save(const std::filesystem::path& file) const;

 private:
  std::string buffer_;
};

// Reads a checkpoint file; each read names the field it expects, for the error message.
class CheckpointReader {
 public:
  // Throws IoError when the file cannot be read, is not a checkpoint, has another format
  // version, or belongs to another experiment (fingerprint).
  CheckpointReader(const std::filesystem::path& file, std::uint64_t fingerprint);
  std::uint64_t u64(const char* field);
  std::int64_t i64(const char* field) { return static_cast<std::int64_t>(u64(field)); }
  double f64(const char* field);
  void f64s(double* values, std::size_t n, const char* field);
  void bytes(std::uint8_t* values, std::size_t n, const char* field);
  // Reads a u64 and checks it equals `expected` (a dimension, a count).
  void expect(std::uint64_t expected, const char* field);
  // Throws unless every byte was read.
  void expect_end();

 private:
  void take(void* out, std::size_t n, const char* field);
  std::filesystem::path file_;
  std::string buffer_;
  std::size_t offset_ = 0;
};

}  // namespace dcsde
