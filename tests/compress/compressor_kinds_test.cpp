// What is particular to one kind: registry and options, top_k's selection, sign's zeros and
// message size, natural's special values, rand_k's reproducibility, and message sizes.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "compress_test_util.hpp"
#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/compress/wire.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde::testing {
namespace {

const DrawContext kCtx{kSeed, 0, 1, 2};

TEST(CompressorRegistry, EightDistinctKindsEachBuildsItself) {
  const auto kinds = kind_specs(CompressorKind{});
  EXPECT_GE(kinds.size(), 8u);  // a new kind passes this suite unchanged
  std::set<std::string> names;
  std::set<std::uint8_t> tags;
  for (const CompressorSpec& info : kinds) {
    const std::string name(info.name);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_FALSE(info.meaning.empty());
    const auto c = make_compressor(test_options(name, 10), 10);
    EXPECT_EQ(c->name(), name);
    EXPECT_EQ(c->kind(), info.kind);
    EXPECT_EQ(c->omega(10).has_value(), c->unbiased());
    // The spec's traits are the object's (the spec is asked before anything is built).
    EXPECT_EQ(c->sparse(), info.sparse) << name;
    EXPECT_EQ(info.identity, c->omega(10) == 0.0) << name;
    EXPECT_EQ(info.law != CompressionLaw::kNone, c->has_covariance()) << name;
    const auto q = keep_probability(test_options(name, 10), 10);
    EXPECT_EQ(q.has_value(), info.law != CompressionLaw::kNone) << name;
    if (q) {
      EXPECT_NEAR(*c->omega(10), 1.0 / *q - 1.0, 1e-12) << name;
    }
    Philox rng = kCtx.stream(0, Purpose::kCompression);
    std::vector<std::uint8_t> bytes;
    c->encode(Vector::Ones(10), rng, bytes);
    EXPECT_TRUE(tags.insert(bytes.at(0)).second) << info.kind << " reuses a format tag";
  }
}

TEST(CompressorRegistry, InvalidOptionsThrowConfigErrorWithTheConstraint) {
  const auto message = [](CompressorOptions o, Index d) -> std::string {
    try {
      make_compressor(o, d);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message({.kind = CompressorKind::kRandK, .k = 0}, 10),
            "compressor.k = 0. Violated constraint: 1 <= k <= dim = 10.");
  EXPECT_NE(message({.kind = CompressorKind::kTopK, .k = 11}, 10), "");
  EXPECT_NE(message({.kind = CompressorKind::kBernoulli, .p = 0.0}, 10), "");
  EXPECT_NE(message({.kind = CompressorKind::kBernoulli, .p = 1.5}, 10), "");
  EXPECT_NE(message({.kind = CompressorKind::kQsgd, .levels = 0}, 10), "");
  EXPECT_EQ(message({.kind = CompressorKind::kNaturalDithering, .levels = 2000}, 10),
            "compressor.levels = 2000. Violated constraint: 1 <= levels <= 1024 for "
            "natural_dithering.");
  EXPECT_EQ(message({.kind = CompressorKind::kQsgd, .levels = 2000}, 10), "");
  EXPECT_EQ(message({.kind = CompressorKind::kBernoulli, .p = 1.0}, 10), "");
  std::string error;
  EXPECT_TRUE(compressor_options_valid({}, 1, &error));
  EXPECT_FALSE(compressor_options_valid({}, 0, &error));
}

TEST(TopK, KeepsExactlyTheKLargestTiesToLowerIndex) {
  const TopKCompressor c(3);
  Vector x(8);
  x << 1.0, -5.0, 2.0, 5.0, -2.0, 0.5, 2.0, -0.0;
  const Vector y = apply_one(c, x, kCtx);
  Vector expected(8);
  expected << 0.0, -5.0, 2.0, 5.0, 0.0, 0.0, 0.0, 0.0;  // |2| ties at 2, 4, 6: index 2 wins
  EXPECT_TRUE(bitwise_equal(y, expected)) << y.transpose();

  const Vector big = wire_vector(0, 1000, 1);
  const TopKCompressor c50(50);
  const Vector z = apply_one(c50, big, kCtx);
  EXPECT_EQ((z.array() != 0.0).count(), 50);
  const double smallest_kept = (z.array() != 0.0).select(z.array().abs(), 1e300).minCoeff();
  const double largest_dropped = (z.array() == 0.0).select(big.array().abs(), 0.0).maxCoeff();
  EXPECT_GE(smallest_kept, largest_dropped);
  for (Index j = 0; j < 1000; ++j) EXPECT_TRUE(z[j] == 0.0 || z[j] == big[j]);
}

TEST(TopK, LargeDimensionWithTiesMatchesASortedReference) {
  // d >= 2^16 takes the histogram path of the selection; few distinct magnitudes force ties.
  const Index d = 70000;
  Philox g(kSeed, 0, 0, Purpose::kTest, 99);
  Vector x(d);
  for (Index j = 0; j < d; ++j) {
    x[j] = (g.uniform() < 0.5 ? -1.0 : 1.0) * static_cast<double>(g.below(50)) * 0.37;
  }
  x[123] = std::numeric_limits<double>::infinity();
  for (const Index k : {Index{1}, Index{700}, Index{1401}, d - 1, d}) {
    std::vector<Index> order(static_cast<std::size_t>(d));
    std::iota(order.begin(), order.end(), Index{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](Index a, Index b) { return std::abs(x[a]) > std::abs(x[b]); });
    Vector expected = Vector::Zero(d);
    for (Index i = 0; i < k; ++i) expected[order[i]] = x[order[i]];
    const TopKCompressor c(k);
    EXPECT_TRUE(bitwise_equal(apply_one(c, x, kCtx), expected)) << "k = " << k;
    Philox rng = kCtx.stream(0, Purpose::kCompression);
    std::vector<std::uint8_t> bytes;
    c.encode(x, rng, bytes);
    Vector decoded(d);
    c.decode(bytes, d, decoded);
    EXPECT_TRUE(bitwise_equal(decoded, expected)) << "k = " << k;
  }
}

TEST(Sign, ZeroMapsToZeroAndMessageSizes) {
  const SignCompressor c;
  Vector x(5);
  x << 2.0, -0.0, 0.0, -3.0, 1e-320;
  Vector expected(5);
  expected << 1.0, 0.0, 0.0, -1.0, 1.0;
  EXPECT_TRUE(bitwise_equal(apply_one(c, x, kCtx), expected));
  for (const Index d : {1, 7, 8, 9, 64, 1000}) {
    Philox rng = kCtx.stream(0, Purpose::kCompression);
    std::vector<std::uint8_t> bytes;
    c.encode(Vector::Constant(d, -0.5), rng, bytes);
    EXPECT_EQ(bytes.size(), static_cast<std::size_t>(6 + 1 + (d + 7) / 8)) << "d = " << d;
    EXPECT_EQ(8.0 * static_cast<double>(bytes.size()), c.message_bits(d));
    bytes.clear();
    Vector with_zero = Vector::Constant(d, 0.5);
    with_zero[d - 1] = 0.0;
    c.encode(with_zero, rng, bytes);
    EXPECT_EQ(bytes.size(), static_cast<std::size_t>(7 + (2 * d + 7) / 8)) << "d = " << d;
  }
}

TEST(Natural, PowersOfTwoAndZeroAreFixedOthersGoToNeighbours) {
  const NaturalCompressor c;
  constexpr double kMin = std::numeric_limits<double>::denorm_min();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Vector fixed(8);
  fixed << 0.0, -0.0, 1.0, -0.25, kMin, -std::ldexp(1.0, -1050), std::ldexp(1.0, 1023), -kInf;
  const Batch V = fixed.replicate(1, 50);
  Batch out(8, 50);
  c.apply(V, kCtx, out);
  for (Index col = 0; col < 50; ++col) EXPECT_TRUE(bitwise_equal(out.col(col), fixed));

  Vector x(5);
  x << 3.0, -1.25, 3 * kMin, 1.5 * std::ldexp(1.0, 1023), -1e-310;  // up: 1/2, 1/4, 1/2, 1/2
  const Batch W = x.replicate(1, 2000);
  Batch y(5, 2000);
  c.apply(W, kCtx, y);
  const double lo[] = {2.0, -1.0, 2 * kMin, std::ldexp(1.0, 1023), -std::ldexp(1.0, -1030)};
  const double hi[] = {4.0, -2.0, 4 * kMin, kInf, -std::ldexp(1.0, -1029)};
  for (Index j = 0; j < 5; ++j) {
    int n_lo = 0, n_hi = 0;
    for (Index col = 0; col < 2000; ++col) {
      n_lo += y(j, col) == lo[j];
      n_hi += y(j, col) == hi[j];
    }
    EXPECT_EQ(n_lo + n_hi, 2000) << "coordinate " << j;
    EXPECT_GT(n_lo, 0) << "coordinate " << j;
    EXPECT_GT(n_hi, 0) << "coordinate " << j;
  }
}

TEST(QuantizersOutputs, LieOnTheirGrids) {
  const Vector x = mixed_vector();
  const QsgdCompressor qsgd(4);
  const Vector q = apply_one(qsgd, x, kCtx);
  const double norm = x.norm();
  for (Index j = 0; j < x.size(); ++j) {
    const double level = std::abs(q[j]) / norm * 4.0;
    EXPECT_NEAR(level, std::round(level), 1e-12);
    EXPECT_TRUE(q[j] == 0.0 || std::signbit(q[j]) == std::signbit(x[j]));
  }
  const NaturalDitheringCompressor nd(3);  // levels {0, 1/4, 1/2, 1}
  const Vector n = apply_one(nd, x, kCtx);
  for (Index j = 0; j < x.size(); ++j) {
    const double r = std::abs(n[j]) / norm;
    EXPECT_TRUE(r == 0.0 || std::abs(r - 0.25) < 1e-15 || std::abs(r - 0.5) < 1e-15 ||
                std::abs(r - 1.0) < 1e-15)
        << r;
  }
  EXPECT_TRUE(apply_one(qsgd, Vector::Zero(6), kCtx).isZero(0.0));
  EXPECT_TRUE(apply_one(nd, Vector::Zero(6), kCtx).isZero(0.0));
  EXPECT_DOUBLE_EQ(*qsgd.omega(100), std::min(100.0 / 16, 10.0 / 4));
  EXPECT_DOUBLE_EQ(*nd.omega(100), 0.125 + std::min(10.0 / 4, 100.0 / 16));
}

TEST(RandK, ScalesKCoordinatesAndIgnoresHistory) {
  const RandKCompressor c(5);
  const Vector x = mixed_vector().array() + 100.0;  // no zeros
  const Vector first = apply_one(c, x, kCtx);
  EXPECT_EQ((first.array() != 0.0).count(), 5);
  for (Index j = 0; j < 20; ++j) EXPECT_TRUE(first[j] == 0.0 || first[j] == 4.0 * x[j]);
  // Other dimensions and streams in between must not change what this stream selects.
  apply_one(RandKCompressor(7), wire_vector(0, 1000, 0), DrawContext{1, 2, 3, 4});
  apply_one(RandKCompressor(3), wire_vector(0, 9, 0), DrawContext{5, 6, 7, 8});
  EXPECT_TRUE(bitwise_equal(apply_one(c, x, kCtx), first));
  Eigen::MatrixXd K(3, 3);
  RandKCompressor(3).covariance(Vector::Ones(3), K);
  EXPECT_TRUE(K.isZero(0.0));
}

TEST(RandK, SubsetIsUniform) {
  // Each coordinate is kept with probability k/d = 1/4: counts within 5 binomial s.e.
  const RandKCompressor c(2);
  const Vector x = Vector::Ones(8);
  const Index n = 20000;
  Batch out(8, n);
  c.apply(x.replicate(1, n), kCtx, out);
  for (Index j = 0; j < 8; ++j) {
    const double count = static_cast<double>((out.row(j).array() != 0.0).count());
    EXPECT_NEAR(count, n / 4.0, 5.0 * std::sqrt(n * 0.25 * 0.75)) << "coordinate " << j;
  }
}

TEST(Bernoulli, MessageSizeIsHeaderCountMaskAndKeptValues) {
  const BernoulliCompressor c(0.3);
  for (const Index d : {1, 7, 64, 1000}) {
    for (std::uint64_t rep = 0; rep < 5; ++rep) {
      const Vector v = wire_vector(0, d, rep);
      Philox rng = DrawContext{kSeed, rep, 0, 0}.stream(0, Purpose::kCompression);
      std::vector<std::uint8_t> bytes;
      c.encode(v, rng, bytes);
      std::uint32_t m = 0;
      std::memcpy(&m, bytes.data() + 6, 4);
      const Vector y = apply_one(c, v, DrawContext{kSeed, rep, 0, 0});
      EXPECT_EQ(m, static_cast<std::uint32_t>((y.array() != 0.0).count()));
      EXPECT_EQ(8 * bytes.size(), static_cast<std::size_t>(padded_bits(48 + 32 + d + 64 * m)));
      EXPECT_EQ(8 * bytes.size(), static_cast<std::size_t>(48 + 32 + padded_bits(d) + 64 * m));
    }
  }
  EXPECT_DOUBLE_EQ(c.message_bits(1000), 80 + 1000 + 64 * 0.3 * 1000);
}

}  // namespace
}  // namespace dcsde::testing
