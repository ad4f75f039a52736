// BitWriter / BitReader, and every rejection rule of the decoders (wire.hpp, sparsifiers.hpp,
// quantizers.hpp), each on a hand-built message.
#include "dcsde/compress/wire.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <functional>
#include <limits>

#include "compress_test_util.hpp"
#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde::testing {
namespace {

TEST(BitStream, RandomFieldsRoundTripAndTruncationThrows) {
  Philox g(kSeed, 0, 0, Purpose::kTest, 1);
  std::vector<int> widths;
  std::vector<std::uint64_t> values;
  std::vector<std::uint8_t> bytes = {7};
  BitWriter w(bytes);
  std::int64_t bits = 0;
  for (int i = 0; i < 5000; ++i) {
    const int n = static_cast<int>(g.below(65));
    const std::uint64_t v = g.next_u64() & (n == 64 ? ~0ULL : (1ULL << n) - 1);
    w.put(v | (n < 64 ? g.next_u64() << n : 0), n);  // bits above n must be ignored
    widths.push_back(n);
    values.push_back(v);
    bits += n;
    ASSERT_EQ(w.bit_count(), bits);
  }
  w.finish();
  ASSERT_EQ(bytes.size(), 1 + static_cast<std::size_t>((bits + 7) / 8));
  const std::span<const std::uint8_t> msg(bytes.data() + 1, bytes.size() - 1);
  BitReader r(msg, "test");
  for (std::size_t i = 0; i < widths.size(); ++i) ASSERT_EQ(r.get(widths[i], "f"), values[i]);
  EXPECT_NO_THROW(r.expect_end());
  BitReader past(msg, "test");
  past.seek(8 * msg.size() - 3);
  EXPECT_THROW(past.get(4, "f"), WireFormatError);
  try {
    BitReader empty(std::span<const std::uint8_t>(), "test");
    empty.get(1, "the first field");
    FAIL();
  } catch (const WireFormatError& e) {
    EXPECT_EQ(e.byte_offset(), 0u);
    EXPECT_NE(std::string(e.what()).find("test message, byte 0: truncated"), std::string::npos);
  }
}

// Builds a message: header (tag, version 1, d) and then `body` writes the fields.
std::vector<std::uint8_t> build(WireTag tag, Index d, const std::function<void(BitWriter&)>& body,
                                std::uint8_t version = kWireVersion) {
  std::vector<std::uint8_t> bytes;
  BitWriter w(bytes);
  w.put(static_cast<std::uint8_t>(tag), 8);
  w.put(version, 8);
  w.put(static_cast<std::uint64_t>(d), 32);
  body(w);
  w.finish();
  return bytes;
}

// Decodes and returns the WireFormatError (what, offset); fails if nothing is thrown.
std::pair<std::string, std::size_t> rejection(const Compressor& c,
                                              const std::vector<std::uint8_t>& bytes, Index d) {
  Vector out(d);
  try {
    c.decode(bytes, d, out);
  } catch (const WireFormatError& e) {
    return {e.what(), e.byte_offset()};
  }
  ADD_FAILURE() << c.name() << ": message accepted";
  return {"", 0};
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(WireHeader, WrongTagVersionOrDimension) {
  const IdentityCompressor c;
  const auto values = [](BitWriter& w) {
    for (int j = 0; j < 3; ++j) w.put_double(1.0);
  };
  Vector out(3);
  EXPECT_NO_THROW(c.decode(build(WireTag::kIdentity, 3, values), 3, out));
  auto [what, at] = rejection(c, build(WireTag::kSign, 3, values), 3);
  EXPECT_TRUE(has(what, "identity message, byte 0: format tag 7, expected 1")) << what;
  std::tie(what, at) = rejection(c, build(WireTag::kIdentity, 3, values, 2), 3);
  EXPECT_EQ(at, 1u);
  std::tie(what, at) = rejection(c, build(WireTag::kIdentity, 4, values), 3);
  EXPECT_EQ(at, 2u);
  EXPECT_TRUE(has(what, "dimension 4, expected 3")) << what;
}

TEST(WireRejects, NanValueNonzeroPaddingTrailingBytes) {
  const IdentityCompressor id;
  const auto nan = build(WireTag::kIdentity, 2, [](BitWriter& w) {
    w.put_double(1.0);
    w.put_double(std::numeric_limits<double>::quiet_NaN());
  });
  EXPECT_TRUE(has(rejection(id, nan, 2).first, "value is NaN"));
  auto trailing = build(WireTag::kIdentity, 1, [](BitWriter& w) { w.put_double(2.0); });
  trailing.push_back(0);
  EXPECT_TRUE(has(rejection(id, trailing, 1).first, "expected 14"));

  const NaturalCompressor nat;  // d = 1: 48 + 13 bits, 3 padding bits
  auto padded = build(WireTag::kNatural, 1, [](BitWriter& w) { w.put(1075 << 1, 13); });
  Vector out(1);
  nat.decode(padded, 1, out);
  EXPECT_EQ(out[0], 1.0);
  padded.back() |= 0x80;
  EXPECT_TRUE(has(rejection(nat, padded, 1).first, "padding bits are not zero"));
}

TEST(WireRejects, IndexOutOfRangeOrRepeated) {
  for (const bool top : {false, true}) {
    const RandKCompressor rk(2);
    const TopKCompressor tk(2);
    const Compressor& c = top ? static_cast<const Compressor&>(tk) : rk;
    const WireTag tag = top ? WireTag::kTopK : WireTag::kRandK;
    const auto msg = [&](std::uint64_t i0, std::uint64_t i1) {
      return build(tag, 6, [&](BitWriter& w) {  // d = 6: 3-bit indices
        w.put(i0, 3);
        w.put(i1, 3);
        w.put_double(1.0);
        w.put_double(2.0);
      });
    };
    Vector out(6);
    c.decode(msg(4, 1), 6, out);
    EXPECT_EQ(out[4], top ? 1.0 : 3.0);
    EXPECT_EQ(out[1], top ? 2.0 : 6.0);
    EXPECT_TRUE(has(rejection(c, msg(1, 7), 6).first, "index 7 >= d = 6"));
    const auto [what, at] = rejection(c, msg(5, 5), 6);
    EXPECT_TRUE(has(what, "index 5 repeated")) << what;
    EXPECT_EQ(at, 6u);  // the second index starts at bit 51
  }
}

TEST(WireRejects, BernoulliCountAndMask) {
  const BernoulliCompressor c(0.5);
  const auto msg = [](std::uint64_t m, std::uint64_t mask, int values) {
    return build(WireTag::kBernoulli, 4, [&](BitWriter& w) {
      w.put(m, 32);
      w.put(mask, 4);
      for (int i = 0; i < values; ++i) w.put_double(i + 1.0);
    });
  };
  Vector out(4);
  c.decode(msg(2, 0b1010, 2), 4, out);
  EXPECT_EQ(out, Vector((Vector(4) << 0.0, 2.0, 0.0, 4.0).finished()));
  EXPECT_TRUE(has(rejection(c, msg(2, 0b1110, 2), 4).first, "keep mask has 3 ones"));
  EXPECT_TRUE(has(rejection(c, msg(5, 0b1111, 5), 4).first, "kept count m = 5 > d = 4"));
  EXPECT_TRUE(has(rejection(c, msg(3, 0b1110, 2), 4).first, "expected"));
}

TEST(WireRejects, LevelsCodesAndNorms) {
  const auto quantized = [](WireTag tag, double norm, std::uint64_t field, int bits) {
    return build(tag, 2, [&](BitWriter& w) {
      w.put_double(norm);
      w.put(0, bits);
      w.put(field, bits);
    });
  };
  const QsgdCompressor qsgd(2);  // 1 + 2 bits per coordinate
  Vector out(2);
  qsgd.decode(quantized(WireTag::kQsgd, 4.0, (2 << 1) | 1, 3), 2, out);
  EXPECT_EQ(out[1], -4.0);
  EXPECT_TRUE(
      has(rejection(qsgd, quantized(WireTag::kQsgd, 4.0, 3 << 1, 3), 2).first, "level 3 > s = 2"));
  EXPECT_TRUE(
      has(rejection(qsgd, quantized(WireTag::kQsgd, -4.0, 0, 3), 2).first, "negative norm"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(has(rejection(qsgd, quantized(WireTag::kQsgd, nan, 0, 3), 2).first, "norm is NaN"));

  const NaturalDitheringCompressor nd(2);  // levels {0, 1/2, 1}, 1 + 2 bits
  nd.decode(quantized(WireTag::kNaturalDithering, 4.0, 1 << 1, 3), 2, out);
  EXPECT_EQ(out[1], 2.0);
  EXPECT_TRUE(has(rejection(nd, quantized(WireTag::kNaturalDithering, 4.0, 3 << 1, 3), 2).first,
                  "level index 3 > s = 2"));

  const NaturalCompressor nat;
  const auto code = [](std::uint64_t c) {
    return build(WireTag::kNatural, 1, [c](BitWriter& w) { w.put(c << 1, 13); });
  };
  nat.decode(code(2099), 1, out.head(1));
  EXPECT_EQ(out[0], std::numeric_limits<double>::infinity());
  nat.decode(code(1), 1, out.head(1));
  EXPECT_EQ(out[0], std::numeric_limits<double>::denorm_min());
  EXPECT_TRUE(has(rejection(nat, code(2100), 1).first, "exponent code 2100 > 2099"));
}

// The sign format bit for bit against its definition written one coordinate at a time (the
// encoder packs 64 comparisons per word with vector compares, the decoder expands bytes through
// a table): header, zero flag, d sign bits (x < 0), then d zero bits (x == 0) if any x is 0.
TEST(WireFormat, SignEncodesItsDefinitionBitForBit) {
  const SignCompressor c;
  for (const Index d : {1, 2, 3, 63, 64, 65, 127, 1000, 4095, 4096, 4097, 9000}) {
    for (int kind = 0; kind < kVectorKinds; ++kind) {
      Vector v = wire_vector(kind, d, 1);
      if (kind == 0 && d > 5) v[d / 2] = std::numeric_limits<double>::quiet_NaN();
      bool zeros = false;
      for (Index j = 0; j < d; ++j) zeros = zeros || v[j] == 0.0;
      const std::vector<std::uint8_t> expected = build(WireTag::kSign, d, [&](BitWriter& w) {
        w.put(zeros ? 1 : 0, 8);
        for (Index j = 0; j < d; ++j) w.put(v[j] < 0.0 ? 1 : 0, 1);
        if (zeros)
          for (Index j = 0; j < d; ++j) w.put(v[j] == 0.0 ? 1 : 0, 1);
      });
      Philox rng(1, 0, 0, Purpose::kTest, 0);
      std::vector<std::uint8_t> bytes;
      c.encode(v, rng, bytes);
      EXPECT_EQ(bytes, expected) << "d = " << d << ", vector kind " << kind;
      Vector out(d);
      c.decode(bytes, d, out);
      for (Index j = 0; j < d; ++j) {
        // A NaN is neither negative nor zero on the wire: it decodes to +1.
        const double want = v[j] < 0.0 ? -1.0 : (v[j] == 0.0 ? 0.0 : 1.0);
        ASSERT_EQ(std::bit_cast<std::uint64_t>(out[j]), std::bit_cast<std::uint64_t>(want))
            << "d = " << d << ", kind " << kind << ", j = " << j;
      }
    }
  }
}

TEST(WireRejects, SignFlagAndNegativeZero) {
  const SignCompressor c;
  const auto msg = [](std::uint64_t flag, std::uint64_t signs, std::uint64_t zeros) {
    return build(WireTag::kSign, 3, [&](BitWriter& w) {
      w.put(flag, 8);
      w.put(signs, 3);
      if (flag == 1) w.put(zeros, 3);
    });
  };
  Vector out(3);
  c.decode(msg(1, 0b001, 0b100), 3, out);
  EXPECT_EQ(out, Vector((Vector(3) << -1.0, 1.0, 0.0).finished()));
  EXPECT_TRUE(has(rejection(c, msg(2, 0, 0), 3).first, "zero flag 2"));
  EXPECT_TRUE(has(rejection(c, msg(1, 0b100, 0b100), 3).first, "both negative and zero"));
}

}  // namespace
}  // namespace dcsde::testing
