// Checkpoints of long runs (run.checkpoint_every; `dcsde run --resume DIR`).
//
// The runner (run/runner.hpp) saves its whole state every K steps: the replica states, their
// accumulated times, which replicas are alive, the per-record statistics so far, the tail sums
// and every replica's loss at every record so far (for exact quantiles). Every random draw is
// named by (seed, replica, agent, purpose, step), so a run resumed from step k draws exactly what
// the uninterrupted run would have drawn from step k on: the results are bit-identical, and an
// interrupted run loses at most one checkpoint interval.
//
// File format, version 3 (every field little-endian, 8 bytes unless said otherwise):
//
//   "DCSDECKP"  magic word (8 bytes)
//   3           format version (2: before the recorded losses; refused as written by an older
//               dcsde, as is version 1)
//   fingerprint of what the file belongs to (the experiment's resolved TOML, its point and its
//               process; fingerprint_of)
//   fields      whatever the writer wrote, in order (u64, i64, f64 and arrays of them; alive
//               flags as raw bytes); the reader must read them back in the same order
//   trailer     a u64 whose low 32 bits are zlib's CRC-32 of every byte before the trailer
//               (header included) and whose high 32 bits are zero
//
// The file is written as `<file>.tmp`, flushed to disk and renamed over `<file>` (rename is
// atomic), so a crash mid-write leaves the previous checkpoint intact; on any write error the
// `.tmp` file is removed. A flipped bit anywhere (a state value, the fingerprint, the trailer)
// fails the checksum, and the file is refused before any field reaches the run's state: a run
// never resumes silently from a damaged state. Every error is an IoError worded
// "checkpoint <file>: <what>" that names the file and, for a field, the field: not a
// checkpoint (magic word), another format version ("written by an older dcsde" for versions 1
// and 2, which cannot be resumed: version 1 carries no checksum, version 2 no recorded losses),
// corrupted (checksum mismatch, expected/found), another experiment (fingerprint), truncated (a
// file cut short fails the checksum; a valid file with fewer fields than the reader asks for is
// "truncated at byte N while reading <field>"), a size that differs from this run's.
//
// Memory: writer and reader stream through one fixed buffer (kCheckpointBuffer bytes) whatever
// the state's size; arrays larger than the buffer go straight between the caller's memory and
// the file. The reader reads the file twice: once to check the checksum, once for the fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace dcsde {

// Where a run_process call keeps its checkpoint, and the identity the file must carry.
struct CheckpointFile {
  std::filesystem::path path;
  std::uint64_t fingerprint = 0;
  // Called after each save (run/experiment.hpp uses it for a testing aid: end the process as a
  // kill would right after the n-th checkpoint).
  std::function<void()> saved;
};

// FNV-1a, 64 bits: stable across builds and platforms (std::hash is not).
std::uint64_t fingerprint_of(std::string_view text);

// The size of the writer's and the reader's buffer: all the memory they add to the state.
inline constexpr std::size_t kCheckpointBuffer = std::size_t{1} << 20;

// Streams little-endian fields to `<file>.tmp`; commit() makes it `<file>`.
//
//   CheckpointWriter w(file, fingerprint);   // creates <file>.tmp, writes the header
//   w.u64(...); w.f64s(...);                 // the fields
//   w.commit();                              // trailer, fsync, close, rename over <file>
//
// Every call throws IoError on a failed write (e.g. "No space left on device"). A writer
// destroyed without a successful commit() (an exception, a forgotten commit) removes the
// `.tmp` file and leaves `<file>` as it was.
class CheckpointWriter {
 public:
  CheckpointWriter(const std::filesystem::path& file, std::uint64_t fingerprint);
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  void u64(std::uint64_t value) { put(&value, sizeof value); }
  void i64(std::int64_t value) { u64(static_cast<std::uint64_t>(value)); }
  void f64(double value) { put(&value, sizeof value); }
  void f64s(const double* values, std::size_t n) { put(values, n * sizeof(double)); }
  void bytes(const std::uint8_t* values, std::size_t n) { put(values, n); }
  // Appends the trailer, flushes the data to disk and renames `<file>.tmp` over `<file>`.
  void commit();

 private:
  void put(const void* data, std::size_t n);
  void flush();                                     // the buffer to the file, through the CRC
  void write_all(const void* data, std::size_t n);  // checked write(2), EINTR and short writes
  [[noreturn]] void fail(const std::string& what);  // removes the .tmp file, throws IoError
  std::filesystem::path file_, tmp_;
  int fd_ = -1;
  std::unique_ptr<unsigned char[]> buffer_;
  std::size_t used_ = 0;
  std::uint32_t crc_ = 0;
};

// Reads a checkpoint file; each read names the field it expects, for the error message.
class CheckpointReader {
 public:
  // Checks, in order: the magic word, the format version, the checksum (reading the whole file
  // once), then the fingerprint. Throws IoError when the file cannot be read, is not a
  // checkpoint, has another format version, is corrupted or truncated, or belongs to another
  // experiment.
  CheckpointReader(const std::filesystem::path& file, std::uint64_t fingerprint);
  ~CheckpointReader();
  CheckpointReader(const CheckpointReader&) = delete;
  CheckpointReader& operator=(const CheckpointReader&) = delete;

  std::uint64_t u64(const char* field);
  std::int64_t i64(const char* field) { return static_cast<std::int64_t>(u64(field)); }
  double f64(const char* field);
  void f64s(double* values, std::size_t n, const char* field);
  void bytes(std::uint8_t* values, std::size_t n, const char* field);
  // Reads a u64 and checks it equals `expected` (a dimension, a count).
  void expect(std::uint64_t expected, const char* field);
  // Throws unless every byte up to the trailer was read.
  void expect_end();

 private:
  void check_header(std::uint64_t fingerprint);
  void take(void* out, std::size_t n, const char* field);
  // pread(2) of exactly n bytes at `at`, retried on EINTR; false if the file ends first.
  bool read_at(void* out, std::size_t n, std::uint64_t at);
  void verify_checksum();
  std::filesystem::path file_;
  int fd_ = -1;
  std::unique_ptr<unsigned char[]> buffer_;
  std::uint64_t buffer_at_ = 0;  // file offset of buffer_[0]
  std::size_t buffered_ = 0;     // valid bytes in buffer_
  std::uint64_t offset_ = 0;     // file offset of the next field byte
  std::uint64_t end_ = 0;        // where the fields end: the file size, then the trailer
};

}  // namespace dcsde
