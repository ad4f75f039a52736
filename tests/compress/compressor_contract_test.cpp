// The Compressor contract (compressor.hpp), checked for every entry of compressor_kinds(), so a
// newly registered compressor is tested at once. Tolerances are z = 5 standard errors estimated
// from the samples, with fixed Philox seeds; nothing is retried.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

#include "compress_test_util.hpp"
#include "dcsde/compress/wire.hpp"
#include "dcsde/core/error.hpp"

// Counts global operator new calls, to check that the hot paths allocate nothing after warm-up.
// Every non-aligned form is replaced, so that each allocation and its release pair up (also
// under AddressSanitizer); the aligned forms keep their defaults, which pair among themselves.
namespace {
std::atomic<long> g_allocations{0};
void* counted_malloc(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* counted_new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
}  // namespace
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // free() pairs with counted_malloc
void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace dcsde::testing {
namespace {

constexpr double kZ = 5.0;
constexpr Index kSamples = 40000;

class CompressorContract : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Compressor> make(Index d) const {
    return make_compressor(test_options(GetParam(), d), d);
  }
  // kSamples draws of C(x), one per column, from a fixed context.
  Batch samples(const Compressor& c, const Vector& x) const {
    const Batch V = x.replicate(1, kSamples);
    Batch out(x.size(), kSamples);
    c.apply(V, DrawContext{kSeed, 0, 3, 7}, out);
    return out;
  }
};

TEST_P(CompressorContract, NameIsTheKind) { EXPECT_EQ(make(20)->name(), GetParam()); }

TEST_P(CompressorContract, UnbiasedWithinFiveStandardErrors) {
  const auto c = make(20);
  if (!c->unbiased()) GTEST_SKIP() << GetParam() << " is biased";
  ASSERT_TRUE(c->omega(20).has_value());
  const Vector x = mixed_vector();
  const Batch s = samples(*c, x);
  for (Index j = 0; j < x.size(); ++j) {
    const auto row = s.row(j).array();
    if ((row == row(0)).all()) {  // deterministic coordinate (zero, exact power of two, ...)
      EXPECT_EQ(row(0), x[j]) << "coordinate " << j << ", seed " << kSeed;
      continue;
    }
    const double mean = row.mean();
    const double se = std::sqrt((row - mean).square().sum() / (kSamples - 1.0) / kSamples);
    EXPECT_NEAR(mean, x[j], kZ * se) << "coordinate " << j << ", seed " << kSeed;
  }
}

TEST_P(CompressorContract, VarianceMatchesOmega) {
  const auto c = make(20);
  if (!c->unbiased()) GTEST_SKIP() << GetParam() << " is biased";
  const Vector x = mixed_vector();
  const Batch s = samples(*c, x);
  const Eigen::ArrayXd err = (s.colwise() - x).colwise().squaredNorm().transpose().array();
  const double mean = err.mean();
  const double se = std::sqrt((err - mean).square().sum() / (kSamples - 1.0) / kSamples);
  const double bound = *c->omega(x.size()) * x.squaredNorm();
  if (c->has_covariance()) {
    // E||C(x) - x||^2 = tr K(x) exactly, and tr K(x) = omega ||x||^2 for these kinds.
    Eigen::MatrixXd K(x.size(), x.size());
    c->covariance(x, K);
    EXPECT_NEAR(K.trace(), bound, 1e-12 * std::max(1.0, bound));
    EXPECT_NEAR(mean, K.trace(), kZ * se + 1e-12) << "seed " << kSeed;
  } else {
    EXPECT_LE(mean, bound + kZ * se) << "seed " << kSeed;
  }
}

TEST_P(CompressorContract, SampleCovarianceMatchesK) {
  const auto c = make(20);
  if (!c->has_covariance()) GTEST_SKIP() << GetParam() << " has no closed-form covariance";
  const Vector x = mixed_vector();
  const Index d = x.size();
  const Batch z = samples(*c, x).colwise() - x;  // centred at the exact mean x
  Eigen::MatrixXd K(d, d);
  c->covariance(x, K);
  EXPECT_TRUE(K.isApprox(K.transpose()));
  for (Index a = 0; a < d; ++a) {
    for (Index b = 0; b <= a; ++b) {
      const Eigen::ArrayXd prod = z.row(a).array() * z.row(b).array();
      const double mean = prod.mean();
      const double se = std::sqrt((prod - mean).square().sum() / (kSamples - 1.0) / kSamples);
      EXPECT_NEAR(mean, K(a, b), kZ * se + 1e-12 * std::abs(K(a, b)))
          << "K(" << a << "," << b << "), seed " << kSeed;
    }
  }
}

TEST_P(CompressorContract, WireRoundTripIsBitExact) {
  for (const Index d : {1, 2, 7, 64, 1000}) {
    const auto c = make(d);
    for (int kind = 0; kind < kVectorKinds; ++kind) {
      for (std::uint64_t rep = 0; rep < 3; ++rep) {
        const Vector v = wire_vector(kind, d, rep);
        const DrawContext ctx{kSeed, 100 + rep, 5, static_cast<std::uint64_t>(kind)};
        const Vector applied = apply_one(*c, v, ctx);
        Philox rng = ctx.stream(0, Purpose::kCompression);
        std::vector<std::uint8_t> bytes = {0xAB, 0xCD};  // encode appends after these
        c->encode(v, rng, bytes);
        ASSERT_EQ(bytes[0], 0xAB);
        const std::span<const std::uint8_t> msg(bytes.data() + 2, bytes.size() - 2);
        Vector decoded(d);
        c->decode(msg, d, decoded);
        EXPECT_TRUE(bitwise_equal(decoded, applied))
            << "d = " << d << ", vector kind " << kind << ", rep " << rep << ", seed " << kSeed;
        for (Index j = 0; j < d; ++j) ASSERT_FALSE(std::isnan(decoded[j]));
        if (c->fixed_size()) {
          EXPECT_EQ(8.0 * static_cast<double>(msg.size()), c->message_bits(d)) << "d = " << d;
        }
        EXPECT_EQ(msg[1], kWireVersion);
        std::uint32_t header_d = 0;
        std::memcpy(&header_d, msg.data() + 2, 4);
        EXPECT_EQ(header_d, static_cast<std::uint32_t>(d));
      }
    }
  }
}

TEST_P(CompressorContract, SameStreamSameOutputAnyBlockLayout) {
  const auto c = make(64);
  Batch V(64, 8);
  for (Index col = 0; col < V.cols(); ++col) V.col(col) = wire_vector(col % 4, 64, 9);
  const DrawContext ctx{kSeed, 40, 2, 11};
  Batch a(64, 8), b(64, 8);
  c->apply(V, ctx, a);
  c->apply(V, ctx, b);
  EXPECT_TRUE(a == b);
  // Columns 3..5 as their own block, replicas 43..45: the same numbers.
  Batch part(64, 3);
  c->apply(V.middleCols(3, 3), DrawContext{kSeed, 43, 2, 11}, part);
  EXPECT_TRUE(part == a.middleCols(3, 3));
}

TEST_P(CompressorContract, NoHeapAllocationAfterWarmUp) {
  const Index d = 1000;
  const auto c = make(d);
  Batch V(d, 4);
  for (Index col = 0; col < 4; ++col) V.col(col) = wire_vector(col, d, 2);
  Batch out(d, 4);
  std::vector<std::uint8_t> bytes;
  Vector decoded(d);
  const auto round = [&](std::uint64_t step) {
    c->apply(V, DrawContext{kSeed, 0, 0, step}, out);
    bytes.clear();
    Philox rng(kSeed, 0, 0, Purpose::kCompression, step);
    c->encode(V.col(1), rng, bytes);
    c->decode(bytes, d, decoded);
  };
  const long probe = g_allocations.load();
  bytes.reserve(1 << 16);
  ASSERT_NE(bytes.data(), nullptr);
  ASSERT_GT(g_allocations.load(), probe) << "the allocation counter is not installed";
  round(0);  // warm-up: thread-local scratch grows here
  const long before = g_allocations.load();
  for (std::uint64_t step = 1; step < 4; ++step) round(step);
  EXPECT_EQ(g_allocations.load() - before, 0);
}

// A few valid messages of dimension 7 and 64 (with and without zeros).
std::vector<std::pair<Index, std::vector<std::uint8_t>>> valid_messages(const std::string& kind) {
  std::vector<std::pair<Index, std::vector<std::uint8_t>>> out;
  for (const Index d : {7, 64}) {
    const auto c = make_compressor(test_options(kind, d), d);
    for (const int vkind : {0, 1, 3}) {
      Philox rng(kSeed, 1, 0, Purpose::kCompression, static_cast<std::uint64_t>(vkind));
      std::vector<std::uint8_t> bytes;
      c->encode(wire_vector(vkind, d, 4), rng, bytes);
      out.emplace_back(d, std::move(bytes));
    }
  }
  return out;
}

// Decodes; a WireFormatError is fine, anything else (or a NaN) fails the test.
void decode_or_reject(const Compressor& c, std::span<const std::uint8_t> bytes, Index d) {
  Vector out(d);
  try {
    c.decode(bytes, d, out);
  } catch (const WireFormatError&) {
    return;
  }
  for (Index j = 0; j < d; ++j) ASSERT_FALSE(std::isnan(out[j])) << "coordinate " << j;
}

TEST_P(CompressorContract, EveryTruncationThrows) {
  for (const auto& [d, msg] : valid_messages(GetParam())) {
    const auto c = make(d);
    Vector out(d);
    ASSERT_NO_THROW(c->decode(msg, d, out));
    for (std::size_t n = 0; n < msg.size(); ++n) {
      EXPECT_THROW(c->decode(std::span(msg.data(), n), d, out), WireFormatError)
          << "prefix of " << n << " of " << msg.size() << " bytes, d = " << d;
    }
    std::vector<std::uint8_t> longer = msg;
    longer.push_back(0);
    EXPECT_THROW(c->decode(longer, d, out), WireFormatError);
    Vector wrong_d(d + 1);
    EXPECT_THROW(c->decode(msg, d + 1, wrong_d), WireFormatError);
  }
}

TEST_P(CompressorContract, RandomBytesDecodeOrThrowWireFormatError) {
  const auto msgs = valid_messages(GetParam());
  Philox g(kSeed, 2, 0, Purpose::kTest, 0);
  for (int t = 0; t < 2000; ++t) {
    const auto& [d, valid] = msgs[g.below(msgs.size())];
    const auto c = make(d);
    // Half exactly the valid length, half any length up to twice it; half keep the header.
    const std::size_t n =
        t % 2 == 0 ? valid.size() : static_cast<std::size_t>(g.below(2 * valid.size() + 1));
    std::vector<std::uint8_t> bytes(n);
    for (auto& byte : bytes) byte = static_cast<std::uint8_t>(g.next_u64());
    if (t % 4 < 2) std::copy_n(valid.begin(), std::min<std::size_t>(6, n), bytes.begin());
    decode_or_reject(*c, bytes, d);
  }
}

TEST_P(CompressorContract, BitFlipsDecodeOrThrowWireFormatError) {
  const auto msgs = valid_messages(GetParam());
  Philox g(kSeed, 3, 0, Purpose::kTest, 0);
  for (int t = 0; t < 2000; ++t) {
    const auto& [d, valid] = msgs[g.below(msgs.size())];
    const auto c = make(d);
    std::vector<std::uint8_t> bytes = valid;
    const std::uint64_t bit = g.below(8 * bytes.size());
    bytes[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    decode_or_reject(*c, bytes, d);
  }
}

std::vector<std::string> all_kinds() {
  std::vector<std::string> kinds;
  for (const std::string& name : compressor_names()) kinds.push_back(name);
  return kinds;
}

INSTANTIATE_TEST_SUITE_P(AllKinds, CompressorContract, ::testing::ValuesIn(all_kinds()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dcsde::testing
