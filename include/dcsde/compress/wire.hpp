// Bit-level wire format shared by every compressor (papers.md 3; docs/reference/compressors.md).
//
// A message is a little-endian bit stream: bit i of the message is bit (i mod 8) of byte
// floor(i / 8), and a field of n bits is written least significant bit first. A 64-bit field that
// starts on a byte boundary is therefore exactly its little-endian bytes, and floating-point
// values are IEEE-754 binary64, bit for bit.
//
// Every message starts with the fixed 48-bit header
//
//   bits    field
//   8       format tag (WireTag; distinct per compressor)
//   8       format version (kWireVersion)
//   32      dimension d (unsigned)
//
// followed by the compressor's payload. Fields follow each other without gaps; the message ends
// with 0 to 7 zero bits so that it fills a whole number of bytes. A decoder rejects (throws
// WireFormatError) a wrong tag, version or d, a field out of range, a NaN value, non-zero padding
// bits and bytes after the end of the message.
//
// BitReader checks every read against the end of the buffer: a truncated message throws
// WireFormatError naming the compressor and the byte offset of the field that did not fit.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "dcsde/core/types.hpp"

namespace dcsde {

static_assert(std::endian::native == std::endian::little,
              "dcsde's wire format copies binary64 values as bytes; add byte swaps for this host");

// The format tag of each compressor's messages (first header byte).
enum class WireTag : std::uint8_t {
  kIdentity = 1,
  kRandK = 2,
  kBernoulli = 3,
  kQsgd = 4,
  kNatural = 5,
  kNaturalDithering = 6,
  kSign = 7,
  kTopK = 8,
};

inline constexpr std::uint8_t kWireVersion = 1;
inline constexpr int kWireHeaderBits = 48;

// Bits needed to write any integer in [0, n]: ceil(log2(n + 1)); 0 for n == 0.
constexpr int bits_for_max(std::uint64_t n) { return static_cast<int>(std::bit_width(n)); }
// Bits of an index into [0, d): ceil(log2 d); 0 for d == 1.
constexpr int index_bits(Index d) { return bits_for_max(static_cast<std::uint64_t>(d - 1)); }
// `bits` rounded up to a whole number of bytes, in bits.
constexpr std::int64_t padded_bits(std::int64_t bits) { return (bits + 7) / 8 * 8; }

// Appends one message to a byte vector. Construct, `put` the fields, then `finish` (which writes
// the padding and trims the vector); the vector holds the message only after `finish`.
class BitWriter {
 public:
  // `expected_bits` is a size hint: the vector is grown once for it (more if it is too small).
  explicit BitWriter(std::vector<std::uint8_t>& bytes, std::int64_t expected_bits = 0);
  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;

  // Writes the low `bits` bits of `value`, 0 <= bits <= 64 (higher bits of `value` are ignored).
  void put(std::uint64_t value, int bits) {
    if (bits < 64) value &= (std::uint64_t{1} << bits) - 1;
    acc_ |= value << fill_;
    if (fill_ + bits >= 64) {
      flush_word();
      acc_ = fill_ == 0 ? 0 : value >> (64 - fill_);
      fill_ = fill_ + bits - 64;
    } else {
      fill_ += bits;
    }
  }
  void put_double(double value) { put(std::bit_cast<std::uint64_t>(value), 64); }
  // n binary64 values; a plain copy when the stream is at a byte boundary.
  void put_doubles(const double* values, std::int64_t n);

  // Bits written to this message so far.
  std::int64_t bit_count() const { return static_cast<std::int64_t>(pos_ - start_) * 8 + fill_; }

  // Pads with zero bits to a whole byte and appends the pending bytes. Call exactly once.
  void finish();

 private:
  void flush_word() {
    if (pos_ + 8 > bytes_.size()) grow(8);
    std::memcpy(bytes_.data() + pos_, &acc_, 8);
    pos_ += 8;
  }
  void grow(std::size_t at_least);

  std::vector<std::uint8_t>& bytes_;  // [start_, pos_) written, [pos_, size()) room
  std::size_t start_;
  std::size_t pos_;
  std::uint64_t acc_ = 0;  // pending bits, the oldest in the least significant position
  int fill_ = 0;           // number of pending bits, 0 <= fill_ < 64
};

// Reads the fields of one message; every read is bounds-checked.
class BitReader {
 public:
  // `compressor` names the format in error messages; it must outlive the reader.
  BitReader(std::span<const std::uint8_t> bytes, const char* compressor)
      : data_(bytes.data()), size_(bytes.size()), compressor_(compressor) {}

  // Reads `bits` bits, 0 <= bits <= 64; throws WireFormatError if fewer remain. `field` says
  // what was expected there, for the error message.
  std::uint64_t get(int bits, const char* field) {
    field_start_ = pos_;
    if (bits == 0) return 0;
    if (static_cast<std::uint64_t>(bits) > size_ * 8 - pos_) fail_truncated(bits, field);
    const std::size_t byte = pos_ >> 3;
    const int shift = static_cast<int>(pos_ & 7);
    std::uint64_t word;
    if (byte + 8 <= size_) {
      std::memcpy(&word, data_ + byte, 8);
    } else {
      word = 0;
      for (std::size_t i = byte; i < size_; ++i)
        word |= std::uint64_t{data_[i]} << (8 * (i - byte));
    }
    std::uint64_t value = word >> shift;
    if (shift + bits > 64) value |= std::uint64_t{data_[byte + 8]} << (64 - shift);
    if (bits < 64) value &= (std::uint64_t{1} << bits) - 1;
    pos_ += static_cast<std::uint64_t>(bits);
    return value;
  }

  // A binary64 value; NaN is rejected (no encoder writes one for valid input), +-inf accepted.
  double get_number(const char* field) {
    const double v = std::bit_cast<double>(get(64, field));
    if (v != v) fail(std::string(field) + " is NaN");
    return v;
  }
  // n values as get_number; a plain copy when the stream is at a byte boundary.
  void get_numbers(double* out, std::int64_t n, const char* field);

  // Checks that the message ends here: only zero padding bits to the end of the current byte,
  // and no further bytes.
  void expect_end();

  // Checks that the buffer holds exactly `bits` bits rounded up to whole bytes, before any field
  // is read; formats whose size is known from the header use it to reject truncation early.
  void expect_total_bits(std::int64_t bits);

  std::uint64_t bit_position() const { return pos_; }
  void seek(std::uint64_t bit_position) { pos_ = bit_position; }

  // Throws WireFormatError at the byte of the field read last.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  [[noreturn]] void fail_truncated(int bits, const char* field) const;

  const std::uint8_t* data_;
  std::uint64_t size_;
  const char* compressor_;
  std::uint64_t pos_ = 0;          // next bit to read
  std::uint64_t field_start_ = 0;  // first bit of the field read last
};

// Header of every message (see above). d must fit in 32 bits.
void write_header(BitWriter& writer, WireTag tag, Index d);
// Reads the header and checks tag, version and that its dimension equals `d`.
void read_header(BitReader& reader, WireTag tag, Index d);

}  // namespace dcsde
