#include "dcsde/run/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

constexpr char kMagic[8] = {'D', 'C', 'S', 'D', 'E', 'C', 'K', 'P'};
// 3: the runner's fields gained every replica's loss at every record (exact quantiles).
constexpr std::uint64_t kFormatVersion = 3;
constexpr std::size_t kHeader = sizeof kMagic + 2 * sizeof(std::uint64_t);
constexpr std::size_t kTrailer = sizeof(std::uint64_t);

static_assert(std::endian::native == std::endian::little,
              "checkpoints are written in the machine's byte order, assumed little-endian");

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw IoError("checkpoint " + file.string() + ": " + what);
}

std::uint32_t crc_update(std::uint32_t crc, const void* data, std::size_t n) {
  // crc32_z takes a size_t length: no 4 GiB limit on one array.
  return static_cast<std::uint32_t>(
      crc32_z(crc, static_cast<const Bytef*>(data), static_cast<z_size_t>(n)));
}

std::string hex(std::uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%08llx", static_cast<unsigned long long>(value));
  return text;
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

CheckpointWriter::CheckpointWriter(const std::filesystem::path& file, std::uint64_t fingerprint)
    : file_(file), tmp_(file.string() + ".tmp"), buffer_(new unsigned char[kCheckpointBuffer]) {
  crc_ = crc_update(0, nullptr, 0);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) dcsde::fail(tmp_, std::string("cannot create: ") + std::strerror(errno));
  put(kMagic, sizeof kMagic);
  u64(kFormatVersion);
  u64(fingerprint);
}

CheckpointWriter::~CheckpointWriter() {
  if (fd_ < 0) return;  // committed, or already cleaned up by fail()
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

void CheckpointWriter::fail(const std::string& what) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  dcsde::fail(tmp_, what);
}

void CheckpointWriter::write_all(const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (n > 0) {
    const ssize_t done = ::write(fd_, p, n);
    if (done < 0 && errno == EINTR) continue;
    // write(2) returns 0 only for n == 0; treat it as an error rather than loop forever.
    if (done <= 0) fail(std::string("cannot write: ") + std::strerror(done < 0 ? errno : EIO));
    p += done;
    n -= static_cast<std::size_t>(done);
  }
}

void CheckpointWriter::flush() {
  crc_ = crc_update(crc_, buffer_.get(), used_);
  write_all(buffer_.get(), used_);
  used_ = 0;
}

void CheckpointWriter::put(const void* data, std::size_t n) {
  if (fd_ < 0) dcsde::fail(tmp_, "written after commit or after a failed write");
  if (n == 0) return;  // an empty array may come with a null pointer, which memcpy must not see
  if (used_ + n <= kCheckpointBuffer) {
    std::memcpy(buffer_.get() + used_, data, n);
    used_ += n;
    return;
  }
  flush();
  if (n >= kCheckpointBuffer) {  // a large array goes straight to the file, without a copy
    crc_ = crc_update(crc_, data, n);
    write_all(data, n);
  } else {
    std::memcpy(buffer_.get(), data, n);
    used_ = n;
  }
}

void CheckpointWriter::commit() {
  if (fd_ < 0) dcsde::fail(tmp_, "committed twice or after a failed write");
  flush();
  const std::uint64_t trailer = crc_;
  write_all(&trailer, sizeof trailer);
  // The data must be on disk before the rename makes it the checkpoint.
  if (::fsync(fd_) != 0) fail(std::string("cannot flush: ") + std::strerror(errno));
  const int fd = fd_;
  fd_ = -1;  // close(2) releases the descriptor even when it fails: never close it twice
  if (::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp_.c_str());
    dcsde::fail(tmp_, "cannot close: " + why);
  }
  std::error_code ec;
  std::filesystem::rename(tmp_, file_, ec);
  if (ec) {
    ::unlink(tmp_.c_str());
    dcsde::fail(file_, "cannot replace with " + tmp_.string() + ": " + ec.message());
  }
}

CheckpointReader::CheckpointReader(const std::filesystem::path& file, std::uint64_t fingerprint)
    : file_(file), buffer_(new unsigned char[kCheckpointBuffer]) {
  fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(file, std::string("cannot open: ") + std::strerror(errno));
  try {  // a constructor that throws runs no destructor: close the file here
    check_header(fingerprint);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

void CheckpointReader::check_header(std::uint64_t fingerprint) {
  struct stat st;
  if (::fstat(fd_, &st) != 0) fail(file_, std::string("cannot stat: ") + std::strerror(errno));
  end_ = static_cast<std::uint64_t>(st.st_size);
  char magic[sizeof kMagic] = {};
  if (end_ >= sizeof kMagic) take(magic, sizeof magic, "magic word");
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    fail(file_, "not a dcsde checkpoint (bad magic word)");
  const std::uint64_t version = u64("format version");
  if (version != kFormatVersion) {
    const std::string which = version < kFormatVersion ? "an older" : "a newer";
    fail(file_, "format version " + std::to_string(version) + ", written by " + which +
                    " dcsde (this one reads version " + std::to_string(kFormatVersion) +
                    " only): it cannot be resumed; delete the checkpoint folder and start the "
                    "run again");
  }
  // The checksum before any other field: a damaged file is refused as corrupted, never read
  // into the run's state (nor misreported as another experiment's).
  verify_checksum();
  if (u64("fingerprint") != fingerprint)
    fail(file_, "belongs to another experiment (its fingerprint differs from this run's)");
}

CheckpointReader::~CheckpointReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool CheckpointReader::read_at(void* out, std::size_t n, std::uint64_t at) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    const ssize_t done = ::pread(fd_, p, n, static_cast<off_t>(at));
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) fail(file_, std::string("cannot read: ") + std::strerror(errno));
    if (done == 0) return false;
    p += done;
    at += static_cast<std::uint64_t>(done);
    n -= static_cast<std::size_t>(done);
  }
  return true;
}

void CheckpointReader::verify_checksum() {
  if (end_ < kHeader + kTrailer)
    fail(file_, "truncated at byte " + std::to_string(end_) + " (" +
                    std::to_string(kHeader + kTrailer) + " bytes at least: header and checksum)");
  const std::uint64_t payload = end_ - kTrailer;
  std::uint32_t crc = crc_update(0, nullptr, 0);
  for (std::uint64_t at = 0; at < payload;) {
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(kCheckpointBuffer, payload - at));
    if (!read_at(buffer_.get(), n, at)) fail(file_, "truncated while it was read");
    crc = crc_update(crc, buffer_.get(), n);
    at += n;
  }
  std::uint64_t expected;
  if (!read_at(&expected, sizeof expected, payload)) fail(file_, "truncated while it was read");
  if (expected != crc)
    fail(file_, "corrupted (checksum mismatch: expected " + hex(expected) + ", found " + hex(crc) +
                    "; the file was altered or cut short)");
  end_ = payload;  // the fields end where the trailer starts
  buffered_ = 0;   // the buffer held the checksum pass, not the fields
}

void CheckpointReader::take(void* out, std::size_t n, const char* field) {
  if (end_ - offset_ < n)
    fail(file_, "truncated at byte " + std::to_string(offset_) + " while reading " + field);
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    if (offset_ >= buffer_at_ && offset_ < buffer_at_ + buffered_) {
      const auto from = static_cast<std::size_t>(offset_ - buffer_at_);
      const std::size_t k = std::min(n, buffered_ - from);
      std::memcpy(p, buffer_.get() + from, k);
      p += k;
      n -= k;
      offset_ += k;
      continue;
    }
    if (n >= kCheckpointBuffer) {  // a large array goes straight into the caller's memory
      if (!read_at(p, n, offset_))
        fail(file_, "truncated at byte " + std::to_string(offset_) + " while reading " + field);
      offset_ += n;
      return;
    }
    buffered_ =
        static_cast<std::size_t>(std::min<std::uint64_t>(kCheckpointBuffer, end_ - offset_));
    buffer_at_ = offset_;
    if (!read_at(buffer_.get(), buffered_, buffer_at_))
      fail(file_, "truncated at byte " + std::to_string(offset_) + " while reading " + field);
  }
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
  if (offset_ != end_)
    fail(file_, std::to_string(end_ - offset_) + " unexpected bytes after the state");
}

}  // namespace dcsde
