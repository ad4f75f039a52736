#include "dcsde/run/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

constexpr char kMagic[8] = {'D', 'C', 'S', 'D', 'E', 'C', 'K', 'P'};
constexpr std::uint64_t kFormatVersion = 1;

static_assert(std::endian::native == std::endian::little,
              "checkpoints are written in the machine's byte order, assumed little-endian");

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw IoError("checkpoint " + file.string() + ": " + what);
}

}  // namespace

std::uint64_t fingerprint_of(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

CheckpointWriter::CheckpointWriter(std::uint64_t fingerprint) {
  buffer_.append(kMagic, sizeof kMagic);
  u64(kFormatVersion);
  u64(fingerprint);
}

void CheckpointWriter::u64(std::uint64_t value) {
  buffer_.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void CheckpointWriter::f64(double value) {
  buffer_.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void CheckpointWriter::f64s(const double* values, std::size_t n) {
  buffer_.append(reinterpret_cast<const char*>(values), n * sizeof(double));
}

void CheckpointWriter::bytes(const std::uint8_t* values, std::size_t n) {
  buffer_.append(reinterpret_cast<const char*>(values), n);
}

void CheckpointWriter::save(const std::filesystem::path& file) const {
  const std::filesystem::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(tmp, std::strerror(errno));
  std::size_t written = 0;
  while (written < buffer_.size()) {
    const ssize_t n = ::write(fd, buffer_.data() + written, buffer_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      fail(tmp, "cannot write: " + why);
    }
    written += static_cast<std::size_t>(n);
  }
  // The data must be on disk before the rename makes it the checkpoint.
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    fail(tmp, std::string("cannot flush: ") + std::strerror(errno));
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) fail(file, "cannot replace with " + tmp.string() + ": " + ec.message());
}

CheckpointReader::CheckpointReader(const std::filesystem::path& file, std::uint64_t fingerprint)
    : file_(file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "cannot open");
  std::ostringstream content;
  content << in.rdbuf();
  buffer_ = content.str();
  if (buffer_.size() < sizeof kMagic || std::memcmp(buffer_.data(), kMagic, sizeof kMagic) != 0)
    fail(file, "not a dcsde checkpoint (bad magic word)");
  offset_ = sizeof kMagic;
  const std::uint64_t version = u64("format version");
  if (version != kFormatVersion)
    fail(file, "format version " + std::to_string(version) + ", this dcsde reads version " +
                   std::to_string(kFormatVersion));
  if (u64("fingerprint") != fingerprint)
    fail(file, "belongs to another experiment (its fingerprint differs from this run's)");
}

void CheckpointReader::take(void* out, std::size_t n, const char* field) {
  if (buffer_.size() - offset_ < n)
    fail(file_, "truncated at byte " + std::to_string(offset_) + " while reading " + field);
  std::memcpy(out, buffer_.data() + offset_, n);
  offset_ += n;
}

std::uint64_t CheckpointReader::u64(const char* field) {
  std::uint64_t value;
  take(&value, sizeof value, field);
  return value;
}

double CheckpointReader::f64(const char* field) {
  double value;
  take(&value, sizeof value, field);
  return value;
}

void CheckpointReader::f64s(double* values, std::size_t n, const char* field) {
  take(values, n * sizeof(double), field);
}

void CheckpointReader::bytes(std::uint8_t* values, std::size_t n, const char* field) {
  take(values, n, field);
}

void CheckpointReader::expect(std::uint64_t expected, const char* field) {
  const std::uint64_t found = u64(field);
  if (found != expected)
    fail(file_, std::string(field) + " is " + std::to_string(found) + ", this run has " +
                    std::to_string(expected));
}

void CheckpointReader::expect_end() {
  if (offset_ != buffer_.size())
    fail(file_, std::to_string(buffer_.size() - offset_) + " unexpected bytes after the state");
}

}  // namespace dcsde
