// Philox streams, the bits: every SIMD path (AVX-512, AVX2, SSE2, scalar; those this CPU runs)
// gives the same bits; the vectorized Philox is Random123's; the own log, expm1, sin and cos agree
// with the C library's within their error bounds; one-at-a-time and bulk calls agree for any
// split; random access gives the sequence's values.
#include <Random123/philox.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <string>
#include <vector>

#include "dcsde/core/rng.hpp"

namespace dcsde {
namespace {

using detail::RngKernels;

// Makes `k` the kernel table of every Philox call in scope.
class ForcedKernels {
 public:
  explicit ForcedKernels(const RngKernels* k) : previous_(detail::set_rng_kernels(k)) {}
  ~ForcedKernels() { detail::set_rng_kernels(previous_); }
  ForcedKernels(const ForcedKernels&) = delete;
  ForcedKernels& operator=(const ForcedKernels&) = delete;

 private:
  const RngKernels* previous_;
};

std::vector<const RngKernels*> all_kernels() {
  int count = 0;
  const RngKernels* const* k = detail::available_rng_kernels(&count);
  return {k, k + count};
}

// A fixed program of calls of every kind, with odd sizes and tails, on streams with small and
// with folded (>= 2^32) replica and step; returns the bits of everything drawn.
std::vector<std::uint64_t> program() {
  std::vector<std::uint64_t> bits;
  auto keep = [&bits](const double* x, Index n) {
    for (Index i = 0; i < n; ++i) bits.push_back(std::bit_cast<std::uint64_t>(x[i]));
  };
  const std::uint32_t index[] = {0, 1, 2, 3, 17, 16, 999, 4242, 4243, 7, 7, 1u << 30, 5, 6, 8};
  for (std::uint64_t replica :
       {std::uint64_t{0}, std::uint64_t{3}, std::uint64_t{(1ULL << 32) + 5}}) {
    Philox rng(11, replica, 2, Purpose::kNoise, replica == 3 ? (1ULL << 40) : 7);
    std::vector<double> x(1000);
    std::vector<std::uint64_t> w(101);
    rng.words(w.data(), 101);
    bits.insert(bits.end(), w.begin(), w.end());
    rng.uniforms(x.data(), 77);
    keep(x.data(), 77);
    for (Index n : {1, 67, 2, 1000, 3, 16, 15}) {
      rng.normals(x.data(), n);
      keep(x.data(), n);
    }
    for (double nu : {1.0, 1.5, 3.0, 0.3}) {
      for (Index n : {45, 1, 1000, 9}) {
        rng.student_ts(x.data(), n, nu);
        keep(x.data(), n);
      }
    }
    rng.normals_at(index, 15, x.data());
    keep(x.data(), 15);
    rng.student_ts_at(index, 15, 1.5, x.data());
    keep(x.data(), 15);
    rng.normals_at(index, 3, x.data());
    keep(x.data(), 3);
  }
  return bits;
}

TEST(RngKernels, EveryPathGivesTheSameBits) {
  const std::vector<const RngKernels*> kernels = all_kernels();
  ASSERT_GE(kernels.size(), 2u);  // x86-64: SSE2 and scalar at least
  EXPECT_STREQ(kernels.back()->name, "scalar");
  std::vector<std::uint64_t> reference;
  {
    ForcedKernels scalar(kernels.back());
    reference = program();
  }
  for (const RngKernels* k : kernels) {
    ForcedKernels forced(k);
    const std::vector<std::uint64_t> bits = program();
    ASSERT_EQ(bits.size(), reference.size());
    Index differ = 0;
    for (std::size_t i = 0; i < bits.size(); ++i) differ += bits[i] != reference[i];
    EXPECT_EQ(differ, 0) << k->name << " differs from scalar in " << differ << " of " << bits.size()
                         << " values";
  }
}

// Block b of a sequence, by Random123's own Philox4x32-10: (w0, w1).
std::pair<std::uint64_t, std::uint64_t> random123_block(const Philox& rng, std::uint32_t sequence,
                                                        std::uint32_t b) {
  using G = r123::Philox4x32;
  const detail::StreamKey& k = rng.key();
  const G::ctr_type x =
      G()(G::ctr_type{{b, k.c1, k.c2, k.c3 | sequence}}, G::key_type{{k.k0, k.k1}});
  return {x.v[0] | (std::uint64_t{x.v[1]} << 32), x.v[2] | (std::uint64_t{x.v[3]} << 32)};
}

TEST(RngKernels, WordsAreRandom123Philox4x32OnEveryPath) {
  for (const RngKernels* k : all_kernels()) {
    ForcedKernels forced(k);
    Philox rng(12, 5, 1, Purpose::kCompression, 9), reference(12, 5, 1, Purpose::kCompression, 9);
    std::vector<std::uint64_t> w(203);
    rng.next_u64();  // bulk draws continue from an odd position
    rng.words(w.data(), 203);
    EXPECT_EQ(reference.next_u64(), random123_block(reference, detail::kWordSequence, 0).first);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const auto block = random123_block(reference, detail::kWordSequence,
                                         static_cast<std::uint32_t>((i + 1) / 2));
      ASSERT_EQ(w[i], (i + 1) % 2 == 0 ? block.first : block.second) << k->name << ", word " << i;
    }
  }
}

// The specification of rng.hpp evaluated with the C library's log, sqrt, cos, sin and expm1:
// the direction (cos phi, sin phi) of word w1.
void reference_direction(std::uint64_t w1, double& c, double& s) {
  const double a = Philox::to_uniform(w1 << 3) * 7.85398163397448278999e-01;
  c = std::cos(a);
  s = std::sin(a);
  if (w1 >> 63) std::swap(c, s);
  if ((w1 >> 62) & 1) c = -c;
  if ((w1 >> 61) & 1) s = -s;
}

TEST(RngKernels, NormalsAndStudentTMatchTheSpecificationWithLibm) {
  const Index n = 20000;
  std::vector<double> z(2 * n), t(n);
  for (double nu : {1.0, 1.5, 4.0}) {
    Philox rng(13, 2, 3, Purpose::kBrownian, 4);
    rng.normals(z.data(), 2 * n);
    rng.student_ts(t.data(), n, nu);
    double worst_z = 0.0, worst_t = 0.0;
    for (Index i = 0; i < n; ++i) {
      const auto b = static_cast<std::uint32_t>(i);
      const auto [w0, w1] = random123_block(rng, detail::kNormalSequence, b);
      double c, s;
      reference_direction(w1, c, s);
      const double rho = std::sqrt(-2.0 * std::log(Philox::to_uniform(w0)));
      // Own log and sin/cos: below 1 ulp each, so a few ulp on the product.
      worst_z = std::max({worst_z, std::abs(z[2 * i] - rho * c) / std::abs(rho * c),
                          std::abs(z[2 * i + 1] - rho * s) / std::abs(rho * s)});
      const auto [v0, v1] = random123_block(rng, detail::kStudentTSequence, b);
      reference_direction(v1, c, s);
      const double x = -2.0 / nu * std::log(Philox::to_uniform(v0));
      const double expected = c * std::sqrt(nu * std::expm1(x));
      // A 1-ulp difference of log moves x by 1 ulp and expm1(x) by about x ulp.
      worst_t =
          std::max(worst_t, std::abs(t[i] - expected) / std::abs(expected) / std::max(1.0, x));
    }
    EXPECT_LT(worst_z, 8 * 0x1p-52) << "normals";
    EXPECT_LT(worst_t, 16 * 0x1p-52) << "Student-t, nu = " << nu;
  }
}

// Draws n normals by a random mix of normal() and normals(m) calls, with uniforms and Student-t
// draws (other sequences) in between; the sequence must not notice.
std::vector<double> split_draw(const Philox& fresh, Index n, std::uint64_t plan_seed) {
  Philox rng = fresh;
  Philox plan(plan_seed, 0, 0, Purpose::kTest, 0);
  std::vector<double> out(static_cast<std::size_t>(n));
  double scratch[64];
  Index i = 0;
  while (i < n) {
    const auto m = std::min<Index>(n - i, static_cast<Index>(plan.below(40)));
    switch (plan.below(4)) {
      case 0:
        for (Index j = 0; j < m; ++j) out[static_cast<std::size_t>(i + j)] = rng.normal();
        break;
      case 1:
        rng.uniforms(scratch, static_cast<Index>(plan.below(64)));
        [[fallthrough]];
      case 2:
        rng.student_ts(scratch, static_cast<Index>(plan.below(64)), 1.5);
        [[fallthrough]];
      default:
        rng.normals(out.data() + i, m);
    }
    i += m;
  }
  return out;
}

TEST(RngKernels, OneAtATimeAndBulkAgreeForAnySplit) {
  for (const RngKernels* k : all_kernels()) {
    ForcedKernels forced(k);
    const Philox fresh(14, 1, 0, Purpose::kNoise, 2);
    const Index n = 1500;
    std::vector<double> bulk(n);
    Philox(fresh).normals(bulk.data(), n);
    for (std::uint64_t plan : {1, 2, 3, 4, 5}) {
      const std::vector<double> split = split_draw(fresh, n, plan);
      for (Index i = 0; i < n; ++i) ASSERT_EQ(split[i], bulk[i]) << k->name << ", normal " << i;
    }
    // Student-t: student_t() one at a time == student_ts() in chunks of any size.
    std::vector<double> t(n), chunks(n);
    Philox(fresh).student_ts(t.data(), n, 3.0);
    Philox rng = fresh, plan(15, 0, 0, Purpose::kTest, 0);
    for (Index i = 0; i < n;) {
      const auto m = std::min<Index>(n - i, static_cast<Index>(plan.below(20)));
      if (m == 1) {
        chunks[i] = rng.student_t(3.0);
      } else {
        rng.student_ts(chunks.data() + i, m, 3.0);
      }
      i += m;
    }
    EXPECT_EQ(t, chunks) << k->name;
  }
}

TEST(RngKernels, RandomAccessGivesTheValuesOfTheSequence) {
  const Philox fresh(16, 9, 7, Purpose::kNoise, 3);
  const Index n = 2000;
  std::vector<double> z(n), t(n);
  Philox(fresh).normals(z.data(), n);
  Philox(fresh).student_ts(t.data(), n, 0.8);
  std::vector<std::uint32_t> index;
  Philox pick(17, 0, 0, Purpose::kTest, 0);
  for (int i = 0; i < 333; ++i) index.push_back(static_cast<std::uint32_t>(pick.below(n)));
  index.push_back(0);
  index.push_back(n - 1);
  for (const RngKernels* k : all_kernels()) {
    ForcedKernels forced(k);
    std::vector<double> za(index.size()), ta(index.size());
    Philox rng = fresh;
    rng.normal();  // random access ignores the stream's position
    rng.normals_at(index.data(), static_cast<Index>(index.size()), za.data());
    rng.student_ts_at(index.data(), static_cast<Index>(index.size()), 0.8, ta.data());
    for (std::size_t i = 0; i < index.size(); ++i) {
      ASSERT_EQ(za[i], z[index[i]]) << k->name << ", normal " << index[i];
      ASSERT_EQ(ta[i], t[index[i]]) << k->name << ", Student-t " << index[i];
    }
  }
}

// DrawContext's draws of many columns in one call give each column's own stream values, also
// where the block straddles replica 2^32 (folded keys: the column-by-column fallback).
TEST(RngKernels, RandomAccessAcrossColumnsGivesEachColumnsValues) {
  for (std::uint64_t first : {std::uint64_t{40}, (std::uint64_t{1} << 32) - 3}) {
    const DrawContext ctx{.seed = 18, .first_replica = first, .agent = 5, .step = 6};
    std::vector<std::uint32_t> column, index;
    Philox pick(19, 0, 0, Purpose::kTest, 0);
    for (int i = 0; i < 100; ++i) {
      column.push_back(static_cast<std::uint32_t>(pick.below(7)));
      index.push_back(static_cast<std::uint32_t>(pick.below(50)));
    }
    for (const RngKernels* k : all_kernels()) {
      ForcedKernels forced(k);
      std::vector<double> z(column.size()), t(column.size());
      ctx.normals_at(Purpose::kNoise, column.data(), index.data(), 100, z.data());
      ctx.student_ts_at(Purpose::kNoise, 1.5, column.data(), index.data(), 100, t.data());
      for (std::size_t i = 0; i < column.size(); ++i) {
        double zi[50], ti[50];
        ctx.stream(column[i], Purpose::kNoise).normals(zi, 50);
        ctx.stream(column[i], Purpose::kNoise).student_ts(ti, 50, 1.5);
        ASSERT_EQ(z[i], zi[index[i]]) << k->name << ", entry " << i;
        ASSERT_EQ(t[i], ti[index[i]]) << k->name << ", entry " << i;
      }
    }
  }
}

// Words of many columns in one call (rand_k's subsets, compress/rand_k.cpp) and discard().
TEST(RngKernels, WordsOfManyColumnsAndDiscardFollowTheStreams) {
  for (std::uint64_t first : {std::uint64_t{40}, (std::uint64_t{1} << 32) - 3}) {
    const DrawContext ctx{.seed = 20, .first_replica = first, .agent = 1, .step = 2};
    const Index c0 = 1, c1 = 6, w = 6, cols = c1 - c0;
    for (const RngKernels* k : all_kernels()) {
      ForcedKernels forced(k);
      std::vector<std::uint64_t> out(static_cast<std::size_t>(cols * w));
      ctx.words_columns(Purpose::kCompression, c0, c1, w, out.data());
      for (Index c = c0; c < c1; ++c) {
        Philox rng = ctx.stream(c, Purpose::kCompression);
        for (Index i = 0; i < w; ++i) {
          ASSERT_EQ(out[(i / 2) * 2 * cols + 2 * (c - c0) + i % 2], rng.next_u64())
              << k->name << ", column " << c << ", word " << i;
        }
      }
    }
  }
  for (std::uint64_t n : {0, 1, 2, 3, 8, 11}) {
    for (int before : {0, 1}) {
      Philox a(21, 0, 0, Purpose::kTest, 0), b = a;
      for (int i = 0; i < before; ++i) a.next_u64(), b.next_u64();
      a.discard(n);
      for (std::uint64_t i = 0; i < n; ++i) b.next_u64();
      EXPECT_EQ(a.next_u64(), b.next_u64()) << "discard(" << n << ") after " << before;
      EXPECT_EQ(a.uniform(), b.uniform());
    }
  }
}

}  // namespace
}  // namespace dcsde
