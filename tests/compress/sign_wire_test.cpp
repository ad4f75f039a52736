// SignCompressor's encode and decode against a reference written one coordinate at a time with
// BitWriter / BitReader (src/compress/sign.cpp packs 64 comparisons per word with vector compares
// and expands the sign bits 8 per byte): the same bytes, the same decoded doubles bit for bit, and
// the same rejections, on vectors full of the values where a vector compare and `x < 0.0` could
// part: -0.0, +0.0, NaN of either sign, +-inf, subnormals. Seeds are fixed.
//
// The kernels are chosen once per process by the CPU's instruction set; DCSDE_SIMD=sse2 or avx2
// (core/simd.hpp) runs this file against the fallbacks.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "compress_test_util.hpp"
#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/wire.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde::testing {
namespace {

const Index kDims[] = {1, 2, 63, 64, 65, 127, 1000, 4095, 4096, 4099, 8200};

// The format by its definition (quantizers.hpp): header, zero flag, d bits x_j < 0, then, if any
// x_j == 0, d bits x_j == 0.
std::vector<std::uint8_t> reference_encode(const Vector& v) {
  const Index d = v.size();
  bool zeros = false;
  for (Index j = 0; j < d; ++j) zeros = zeros || v[j] == 0.0;
  std::vector<std::uint8_t> bytes;
  BitWriter w(bytes);
  w.put(static_cast<std::uint8_t>(WireTag::kSign), 8);
  w.put(kWireVersion, 8);
  w.put(static_cast<std::uint64_t>(d), 32);
  w.put(zeros ? 1 : 0, 8);
  for (Index j = 0; j < d; ++j) w.put(v[j] < 0.0 ? 1 : 0, 1);
  if (zeros) {
    for (Index j = 0; j < d; ++j) w.put(v[j] == 0.0 ? 1 : 0, 1);
  }
  w.finish();
  return bytes;
}

// Decodes a well-formed message bit by bit: +0.0 where the zero bit is set, -1 where the sign bit
// is, +1 elsewhere.
Vector reference_decode(const std::vector<std::uint8_t>& bytes, Index d) {
  BitReader r(bytes, "reference");
  r.get(kWireHeaderBits, "header");
  const bool zeros = r.get(8, "flag") == 1;
  std::vector<bool> negative(static_cast<std::size_t>(d));
  for (Index j = 0; j < d; ++j) negative[static_cast<std::size_t>(j)] = r.get(1, "sign") == 1;
  Vector out(d);
  for (Index j = 0; j < d; ++j) {
    const bool zero = zeros && r.get(1, "zero") == 1;
    out[j] = zero ? 0.0 : (negative[static_cast<std::size_t>(j)] ? -1.0 : 1.0);
  }
  return out;
}

// What a coordinate decodes to: -1 if x < 0, +0.0 if x == 0 (either sign), else +1 (NaN is
// neither negative nor zero on the wire).
double decoded(double x) { return x < 0.0 ? -1.0 : (x == 0.0 ? 0.0 : 1.0); }

std::uint64_t bits_of(double x) { return std::bit_cast<std::uint64_t>(x); }

// Random vectors of dimension d: flavour 0 has no zeros (the format without the zero mask) but
// every other special value, 1 mixes everything, 2 is mostly special values, 3 all +-0.0, 4 a
// single zero at a random place.
constexpr int kFlavours = 5;
Vector special_vector(int flavour, Index d, std::uint64_t seed) {
  Philox g(kSeed, seed, static_cast<std::uint32_t>(d), Purpose::kTest,
           static_cast<std::uint64_t>(flavour));
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr double kDenorm = std::numeric_limits<double>::denorm_min();
  const double specials[] = {
      0.0,
      -0.0,
      std::numeric_limits<double>::quiet_NaN(),
      -std::numeric_limits<double>::quiet_NaN(),
      std::bit_cast<double>(std::uint64_t{0x7ff0000000000001}),  // signalling NaN
      std::bit_cast<double>(std::uint64_t{0xfff8dead00000000}),  // NaN, sign bit set, payload
      kInf,
      -kInf,
      kDenorm,
      -kDenorm,
      -1e-310,
      2.2e-308,
      -std::numeric_limits<double>::min(),
      std::numeric_limits<double>::max(),
      -std::numeric_limits<double>::max(),
  };
  constexpr std::uint64_t kSpecials = sizeof(specials) / sizeof(specials[0]);
  const double p_special[] = {0.2, 0.3, 0.9, 0.0, 0.0};
  Vector x(d);
  for (Index j = 0; j < d; ++j) {
    if (flavour == 3) {
      x[j] = g.uniform() < 0.5 ? 0.0 : -0.0;
      continue;
    }
    if (g.uniform() < p_special[flavour]) {
      const std::uint64_t first = flavour == 0 ? 2 : 0;  // flavour 0: not the two zeros
      x[j] = specials[first + g.below(kSpecials - first)];
    } else {
      x[j] = g.normal() * std::pow(10.0, 6.0 * g.uniform() - 3.0);
    }
  }
  if (flavour == 4) x[static_cast<Index>(g.below(static_cast<std::uint64_t>(d)))] = -0.0;
  return x;
}

TEST(SignWire, EncodesTheReferenceBytesAndDecodesTheReferenceValues) {
  const SignCompressor c;
  for (const Index d : kDims) {
    for (int flavour = 0; flavour < kFlavours; ++flavour) {
      for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        const Vector v = special_vector(flavour, d, seed);
        SCOPED_TRACE("d = " + std::to_string(d) + ", flavour " + std::to_string(flavour) +
                     ", seed " + std::to_string(seed));
        const std::vector<std::uint8_t> expected = reference_encode(v);
        Philox rng(seed, 0, 0, Purpose::kTest, 0);
        std::vector<std::uint8_t> bytes;
        c.encode(v, rng, bytes);
        ASSERT_EQ(bytes, expected);
        Vector out = Vector::Constant(d, 42.0);
        c.decode(bytes, d, out);
        const Vector ref = reference_decode(expected, d);
        for (Index j = 0; j < d; ++j) {
          ASSERT_EQ(bits_of(out[j]), bits_of(ref[j])) << "j = " << j << ", x_j = " << v[j];
          ASSERT_EQ(bits_of(out[j]), bits_of(decoded(v[j]))) << "j = " << j << ", x_j = " << v[j];
        }
      }
    }
  }
}

// encode appends to what the vector holds; with zeros the message outgrows the size it reserves
// for the sign bits, and the zero flag is set after the fact.
TEST(SignWire, AppendsAfterEarlierMessages) {
  const SignCompressor c;
  for (const Index d : {Index{1}, Index{65}, Index{4099}}) {
    std::vector<std::uint8_t> bytes = {0xab, 0xcd, 0xef};
    std::vector<std::uint8_t> expected = bytes;
    for (int flavour = 0; flavour < kFlavours; ++flavour) {
      const Vector v = special_vector(flavour, d, 9);
      const std::vector<std::uint8_t> message = reference_encode(v);
      expected.insert(expected.end(), message.begin(), message.end());
      Philox rng(9, 0, 0, Purpose::kTest, 0);
      c.encode(v, rng, bytes);
      ASSERT_EQ(bytes, expected) << "d = " << d << ", flavour " << flavour;
    }
  }
}

// Random sign bits and disjoint zero bits, with and without the zero mask, written bit by bit:
// decode gives the reference values; every malformed variant is rejected with its message.
TEST(SignWire, DecodesRandomMessagesAndRejectsMalformedOnes) {
  const SignCompressor c;
  Philox g(kSeed, 0, 0, Purpose::kTest, 77);
  for (const Index d : kDims) {
    for (const int flag : {0, 1}) {
      std::vector<int> negative(static_cast<std::size_t>(d));
      std::vector<int> zero(static_cast<std::size_t>(d));
      for (std::size_t j = 0; j < negative.size(); ++j) {
        const std::uint64_t u = g.below(3);  // 0 positive, 1 negative, 2 zero
        negative[j] = u == 1 || (flag == 0 && u == 2) ? 1 : 0;
        zero[j] = flag == 1 && u == 2 ? 1 : 0;
      }
      const auto message = [&](std::uint64_t flag_field, int padding) {
        std::vector<std::uint8_t> bytes;
        BitWriter w(bytes);
        w.put(static_cast<std::uint8_t>(WireTag::kSign), 8);
        w.put(kWireVersion, 8);
        w.put(static_cast<std::uint64_t>(d), 32);
        w.put(flag_field, 8);
        for (const int b : negative) w.put(static_cast<std::uint64_t>(b), 1);
        if (flag == 1) {
          for (const int b : zero) w.put(static_cast<std::uint64_t>(b), 1);
        }
        const std::int64_t pad = (8 - w.bit_count() % 8) % 8;
        if (padding != 0 && pad > 0) w.put(static_cast<std::uint64_t>(padding), 1);
        w.finish();
        return bytes;
      };
      SCOPED_TRACE("d = " + std::to_string(d) + ", flag " + std::to_string(flag));
      const std::vector<std::uint8_t> good = message(static_cast<std::uint64_t>(flag), 0);
      Vector out(d);
      c.decode(good, d, out);
      const Vector ref = reference_decode(good, d);
      for (Index j = 0; j < d; ++j) ASSERT_EQ(bits_of(out[j]), bits_of(ref[j])) << "j = " << j;
      // A message re-encoded from its decoded values is the message (unless it has the zero mask
      // but no zero in it, which encode would not write).
      bool any_zero = false;
      for (const int b : zero) any_zero = any_zero || b == 1;
      if (any_zero == (flag == 1)) {
        Philox rng(1, 0, 0, Purpose::kTest, 0);
        std::vector<std::uint8_t> again;
        c.encode(out, rng, again);
        EXPECT_EQ(again, good);
      }

      const auto rejected = [&](const std::vector<std::uint8_t>& bytes) -> std::string {
        try {
          c.decode(bytes, d, out);
        } catch (const WireFormatError& e) {
          return e.what();
        }
        ADD_FAILURE() << "malformed message accepted";
        return "";
      };
      const std::uint64_t total_bits = static_cast<std::uint64_t>(56 + d * (1 + flag));
      const std::uint64_t total_bytes = (total_bits + 7) / 8;
      EXPECT_EQ(rejected(message(2 + g.below(254), 0)).find("sign message, byte 6: zero flag "),
                0u);
      if (total_bits % 8 != 0) {
        EXPECT_EQ(
            rejected(message(static_cast<std::uint64_t>(flag), 1)),
            "sign message, byte " + std::to_string(total_bits / 8) + ": padding bits are not zero");
      }
      std::vector<std::uint8_t> longer = good;
      longer.push_back(0);
      EXPECT_EQ(rejected(longer), "sign message, byte " + std::to_string(total_bytes) +
                                      ": message is " + std::to_string(total_bytes + 1) +
                                      " bytes, expected " + std::to_string(total_bytes));
      std::vector<std::uint8_t> shorter = good;
      shorter.pop_back();
      EXPECT_EQ(rejected(shorter), "sign message, byte " + std::to_string(total_bytes - 1) +
                                       ": message is " + std::to_string(total_bytes - 1) +
                                       " bytes, expected " + std::to_string(total_bytes));
      if (flag == 1) {
        // One coordinate both negative and zero: rejected at the byte of its word of sign bits.
        const auto j = static_cast<std::size_t>(g.below(static_cast<std::uint64_t>(d)));
        negative[j] = 1;
        zero[j] = 1;
        EXPECT_EQ(rejected(message(1, 0)), "sign message, byte " +
                                               std::to_string(7 + 8 * (j / 64)) +
                                               ": a coordinate is marked both negative and zero");
      }
    }
  }
}

}  // namespace
}  // namespace dcsde::testing
