#include "dcsde/compress/wire.hpp"

#include <algorithm>

#include "dcsde/core/error.hpp"

namespace dcsde {

BitWriter::BitWriter(std::vector<std::uint8_t>& bytes, std::int64_t expected_bits)
    : bytes_(bytes), start_(bytes.size()), pos_(bytes.size()) {
  // One resize for the whole message (plus a word of slack); vector growth stays geometric when
  // many messages are appended to one vector.
  bytes_.resize(start_ + static_cast<std::size_t>(std::max<std::int64_t>(expected_bits, 0) / 8) +
                16);
}

void BitWriter::grow(std::size_t at_least) {
  bytes_.resize(std::max(bytes_.size() + at_least, 2 * bytes_.size()));
}

void BitWriter::put_doubles(const double* values, std::int64_t n) {
  if (fill_ % 8 != 0) {
    for (std::int64_t i = 0; i < n; ++i) put_double(values[i]);
    return;
  }
  const auto pending = static_cast<std::size_t>(fill_ / 8);
  const std::size_t count = static_cast<std::size_t>(n) * 8;
  if (pos_ + pending + count + 8 > bytes_.size()) grow(pending + count + 8);
  std::memcpy(bytes_.data() + pos_, &acc_, pending);
  std::memcpy(bytes_.data() + pos_ + pending, values, count);
  pos_ += pending + count;
  acc_ = 0;
  fill_ = 0;
}

void BitWriter::finish() {
  const auto tail = static_cast<std::size_t>((fill_ + 7) / 8);
  if (pos_ + tail > bytes_.size()) grow(tail);
  std::memcpy(bytes_.data() + pos_, &acc_, tail);
  pos_ += tail;
  bytes_.resize(pos_);
  acc_ = 0;
  fill_ = 0;
}

void BitReader::get_numbers(double* out, std::int64_t n, const char* field) {
  if (pos_ % 8 != 0 || n == 0) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = get_number(field);
    return;
  }
  field_start_ = pos_;
  const auto count = static_cast<std::uint64_t>(n) * 64;
  if (count > size_ * 8 - pos_) fail_truncated(64, field);
  std::memcpy(out, data_ + pos_ / 8, count / 8);
  for (std::int64_t i = 0; i < n; ++i) {
    if (out[i] != out[i]) {
      field_start_ = pos_ + 64 * static_cast<std::uint64_t>(i);
      fail(std::string(field) + " is NaN");
    }
  }
  pos_ += count;
}

void BitReader::expect_end() {
  const std::uint64_t end_bit = (pos_ + 7) / 8 * 8;
  field_start_ = pos_;
  if (end_bit > pos_ && get(static_cast<int>(end_bit - pos_), "padding") != 0) {
    fail("padding bits are not zero");
  }
  if (end_bit / 8 != size_) {
    field_start_ = end_bit;
    fail(std::to_string(size_ - end_bit / 8) + " bytes after the end of the message");
  }
}

void BitReader::expect_total_bits(std::int64_t bits) {
  const auto expected = static_cast<std::uint64_t>((bits + 7) / 8);
  if (size_ != expected) {
    field_start_ = std::min(size_, expected) * 8;
    fail("message is " + std::to_string(size_) + " bytes, expected " + std::to_string(expected));
  }
}

void BitReader::fail(const std::string& what) const {
  throw WireFormatError(compressor_, static_cast<std::size_t>(field_start_ / 8), what);
}

void BitReader::fail_truncated(int bits, const char* field) const {
  throw WireFormatError(compressor_, static_cast<std::size_t>(pos_ / 8),
                        std::string("truncated: expected ") + field + " (" + std::to_string(bits) +
                            " bits), " + std::to_string(size_ * 8 - pos_) + " bits left");
}

void write_header(BitWriter& writer, WireTag tag, Index d) {
  writer.put(static_cast<std::uint8_t>(tag), 8);
  writer.put(kWireVersion, 8);
  writer.put(static_cast<std::uint64_t>(d), 32);
}

void read_header(BitReader& reader, WireTag tag, Index d) {
  const auto got_tag = reader.get(8, "format tag");
  if (got_tag != static_cast<std::uint8_t>(tag)) {
    reader.fail("format tag " + std::to_string(got_tag) + ", expected " +
                std::to_string(static_cast<int>(tag)));
  }
  const auto version = reader.get(8, "format version");
  if (version != kWireVersion) {
    reader.fail("format version " + std::to_string(version) + ", expected " +
                std::to_string(kWireVersion));
  }
  const auto dim = reader.get(32, "dimension");
  if (static_cast<Index>(dim) != d) {
    reader.fail("dimension " + std::to_string(dim) + ", expected " + std::to_string(d));
  }
}

}  // namespace dcsde
