// Checkpoint files (run/checkpoint.hpp): an exact round trip through the streaming writer and
// reader, and every damaged file refused with its name and the reason before a field is used.
#include "dcsde/run/checkpoint.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "../support/files.hpp"
#include "dcsde/core/error.hpp"

namespace fs = std::filesystem;
using dcsde::CheckpointReader;
using dcsde::CheckpointWriter;
using dcsde::IoError;
using dcsde::testing::read_file;

namespace {

constexpr std::uint64_t kFingerprint = 0x0123456789abcdefULL;
constexpr std::size_t kHeader = 24;  // magic word, format version, fingerprint

// Larger than the writer's buffer, so that both the buffered and the direct path are taken.
std::vector<double> big_state() {
  std::vector<double> v(dcsde::kCheckpointBuffer / sizeof(double) * 3 / 2 + 5);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<double>(i)) * 1e-3;
  return v;
}

// The error message of `f`, or "" when it throws nothing.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

void flip_bit(const fs::path& file, std::uint64_t byte, int bit) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(byte));
  char c;
  f.get(c);
  c = static_cast<char>(c ^ (1 << bit));
  f.seekp(static_cast<std::streamoff>(byte));
  f.put(c);
}

// Open file descriptors of this process: a refused file must not leak one.
std::ptrdiff_t open_fds() {
  return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator());
}

class Checkpoint : public dcsde::testing::TempDirTest {
 protected:
  Checkpoint() : TempDirTest("checkpoint") {}
  fs::path file() const { return dir_ / "state.ckpt"; }
  fs::path tmp() const { return dir_ / "state.ckpt.tmp"; }

  // Fields of every kind, in an order that leaves the big array unaligned to 8 bytes.
  void save(const fs::path& path) const {
    CheckpointWriter w(path, kFingerprint);
    w.u64(std::numeric_limits<std::uint64_t>::max());
    w.i64(-5);
    w.f64(-0.0);
    const std::uint8_t flags[3] = {1, 0, 1};
    w.bytes(flags, 3);
    w.f64s(state_.data(), state_.size());
    w.f64(std::numeric_limits<double>::denorm_min());
    w.commit();
  }
  // Reads back what save() wrote; fills `state`.
  void load(const fs::path& path, std::vector<double>& state) const {
    CheckpointReader r(path, kFingerprint);
    EXPECT_EQ(r.u64("max"), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(r.i64("minus five"), -5);
    const double zero = r.f64("negative zero");
    EXPECT_TRUE(zero == 0.0 && std::signbit(zero));
    std::uint8_t flags[3];
    r.bytes(flags, 3, "flags");
    EXPECT_EQ(flags[0] + 2 * flags[1] + 4 * flags[2], 5);
    state.assign(state_.size(), 0.0);
    r.f64s(state.data(), state.size(), "state");
    EXPECT_EQ(r.f64("subnormal"), std::numeric_limits<double>::denorm_min());
    r.expect_end();
  }
  std::uint64_t state_offset() const { return kHeader + 8 + 8 + 8 + 3; }

  const std::vector<double> state_ = big_state();
};

TEST_F(Checkpoint, RoundTripsEveryFieldExactly) {
  save(file());
  EXPECT_FALSE(fs::exists(tmp())) << "the temporary file is renamed";
  EXPECT_EQ(fs::file_size(file()), state_offset() + 8 * state_.size() + 8 + 8);
  std::vector<double> back;
  load(file(), back);
  EXPECT_EQ(std::memcmp(back.data(), state_.data(), 8 * state_.size()), 0) << "bit for bit";
}

TEST_F(Checkpoint, TrailerIsZlibCrc32OfEveryByteBefore) {
  save(file());
  const std::string bytes = read_file(file());
  const std::size_t payload = bytes.size() - 8;
  const auto crc = crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), payload);
  std::uint64_t trailer;
  std::memcpy(&trailer, bytes.data() + payload, 8);
  EXPECT_EQ(trailer, static_cast<std::uint64_t>(crc)) << "little-endian u64, high half zero";
  EXPECT_EQ(bytes.substr(0, 8), "DCSDECKP");
  EXPECT_EQ(bytes[8], 3) << "format version 3";
}

TEST_F(Checkpoint, OneFlippedBitAnywhereIsRefusedAsCorrupted) {
  save(file());
  const std::uint64_t size = fs::file_size(file());
  const struct {
    const char* where;
    std::uint64_t byte;
  } places[] = {{"a state value", state_offset() + 8 * 1000 + 3},
                {"the fingerprint", 16 + 5},
                {"the trailer", size - 8 + 1}};
  const std::ptrdiff_t fds = open_fds();
  for (const auto& place : places) {
    save(file());
    flip_bit(file(), place.byte, 4);
    const std::string what = error_of([&] { CheckpointReader(file(), kFingerprint); });
    EXPECT_NE(what.find("checkpoint " + file().string() + ": corrupted (checksum mismatch"),
              std::string::npos)
        << place.where << ": " << what;
    EXPECT_NE(what.find("expected 0x"), std::string::npos) << what;
    EXPECT_NE(what.find("found 0x"), std::string::npos) << what;
  }
  EXPECT_EQ(open_fds(), fds) << "a refused file is closed";
}

TEST_F(Checkpoint, TruncatedFilesAreRefused) {
  save(file());
  // Cut in the middle: the last 8 bytes are no longer the checksum.
  fs::resize_file(file(), fs::file_size(file()) / 2);
  std::string what = error_of([&] { CheckpointReader(file(), kFingerprint); });
  EXPECT_NE(what.find(file().string() + ": corrupted (checksum mismatch"), std::string::npos)
      << what;
  // Cut inside the header.
  fs::resize_file(file(), 12);
  what = error_of([&] { CheckpointReader(file(), kFingerprint); });
  EXPECT_NE(what.find(file().string() + ": truncated at byte 8 while reading format version"),
            std::string::npos)
      << what;
  // Header without its checksum.
  save(file());
  fs::resize_file(file(), kHeader);
  what = error_of([&] { CheckpointReader(file(), kFingerprint); });
  EXPECT_NE(what.find(file().string() + ": truncated at byte 24"), std::string::npos) << what;
}

TEST_F(Checkpoint, ReadingPastTheFieldsNamesTheOffsetAndTheField) {
  {
    CheckpointWriter w(file(), kFingerprint);
    w.u64(7);
    w.commit();
  }
  CheckpointReader r(file(), kFingerprint);
  r.expect(7, "dimension");
  const std::string what = error_of([&] { r.u64("replica count"); });
  EXPECT_NE(what.find(file().string() + ": truncated at byte 32 while reading replica count"),
            std::string::npos)
      << what;
}

TEST_F(Checkpoint, SizesAndLeftoverBytesAreChecked) {
  {
    CheckpointWriter w(file(), kFingerprint);
    w.u64(7);
    w.u64(8);
    w.commit();
  }
  CheckpointReader r(file(), kFingerprint);
  std::string what = error_of([&] { r.expect(6, "dimension"); });
  EXPECT_NE(what.find(": dimension is 7, this run has 6"), std::string::npos) << what;
  what = error_of([&] { r.expect_end(); });
  EXPECT_NE(what.find(": 8 unexpected bytes after the state"), std::string::npos) << what;
  r.u64("last");
  r.expect_end();
}

TEST_F(Checkpoint, RefusesOlderVersionsAnotherExperimentAndOtherFiles) {
  // A version-1 file (the same header, no checksum) and a version-2 one (a checksum, but no
  // recorded losses): both written by an older dcsde, named with the file.
  for (std::uint64_t version : {1, 2}) {
    std::string old = "DCSDECKP";
    for (std::uint64_t field : {version, kFingerprint, std::uint64_t{7}})
      old.append(reinterpret_cast<const char*>(&field), 8);
    std::ofstream(file(), std::ios::binary) << old;
    const std::string what = error_of([&] { CheckpointReader(file(), kFingerprint); });
    EXPECT_NE(what.find(file().string() + ": format version " + std::to_string(version) +
                        ", written by an older dcsde (this one reads version 3 only)"),
              std::string::npos)
        << what;
  }
  // A newer one.
  std::string newer = "DCSDECKP";
  for (std::uint64_t field : {std::uint64_t{4}, kFingerprint, std::uint64_t{7}})
    newer.append(reinterpret_cast<const char*>(&field), 8);
  std::ofstream(file(), std::ios::binary) << newer;
  std::string what = error_of([&] { CheckpointReader(file(), kFingerprint); });
  EXPECT_NE(what.find("format version 4, written by a newer dcsde"), std::string::npos) << what;

  save(file());
  what = error_of([&] { CheckpointReader(file(), kFingerprint + 1); });
  EXPECT_NE(what.find(file().string() + ": belongs to another experiment"), std::string::npos)
      << what;

  write("state.ckpt", "DCSDE checkpoint, honestly");
  what = error_of([&] { CheckpointReader(file(), kFingerprint); });
  EXPECT_NE(what.find(file().string() + ": not a dcsde checkpoint"), std::string::npos) << what;

  what = error_of([&] { CheckpointReader(dir_ / "absent.ckpt", kFingerprint); });
  EXPECT_NE(what.find("absent.ckpt: cannot open: No such file or directory"), std::string::npos)
      << what;
}

TEST_F(Checkpoint, WriteFailuresLeaveNoTemporaryFile) {
  // A folder that does not exist.
  const fs::path nowhere = dir_ / "absent" / "state.ckpt";
  std::string what = error_of([&] { save(nowhere); });
  EXPECT_NE(what.find("checkpoint " + nowhere.string() + ".tmp: cannot create"), std::string::npos)
      << what;
  EXPECT_FALSE(fs::exists(nowhere.string() + ".tmp"));

  // A full disk: /dev/full fails every write with ENOSPC. The previous checkpoint survives.
  save(file());
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  fs::create_symlink("/dev/full", tmp());
  what = error_of([&] { save(file()); });
  EXPECT_NE(what.find(tmp().string() + ": cannot write: No space left on device"),
            std::string::npos)
      << what;
  EXPECT_FALSE(fs::exists(fs::symlink_status(tmp()))) << "the .tmp file is removed";
  std::vector<double> back;
  load(file(), back);
  EXPECT_EQ(back, state_);

  // A writer abandoned before commit (an exception in the caller) removes its .tmp file.
  {
    CheckpointWriter w(file(), kFingerprint);
    w.u64(1);
    EXPECT_TRUE(fs::exists(tmp()));
  }
  EXPECT_FALSE(fs::exists(tmp()));
  load(file(), back);
}

}  // namespace
