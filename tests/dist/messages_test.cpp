// The message layer of dist/ without MPI: the segments that one step's exchange moves, decoded
// and summed in one process, must give Method::step's numbers bit for bit, for every compressor
// and any split of the agents over ranks; malformed bytes must give a DistError naming the step,
// agent and rank, never anything else.
#ifdef DCSDE_HAVE_MPI

#include "dcsde/dist/messages.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "dcsde/config/experiment.hpp"
#include "dcsde/dist/process.hpp"

namespace dcsde::dist {
namespace {

constexpr Index kDim = 12;
constexpr Index kAgents = 5;
constexpr std::uint64_t kSeed = 11;

struct Case {
  std::string name, method, compressor;
  std::vector<std::string> sets;  // key=value overrides
};
// How gtest (and so ctest's test list) prints a case: its name, not the struct's bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

Assembled build(const Case& c) {
  const std::string toml =
      "[problem]\nobjective = \"quadratic_rotated\"\ndim = " + std::to_string(kDim) +
      "\n[noise]\nkind = \"gaussian\"\nsigma = 0.7\n[agents]\ncount = " + std::to_string(kAgents) +
      "\n[method]\nkind = \"" + c.method + "\"\nlr = 0.05\nsteps = 10\n" +
      "[compressor]\nkind = \"" + c.compressor + "\"\n";
  return assemble(parse_experiment(toml, "m.toml", c.sets).points[0].experiment);
}

Batch start(Index cols) {
  Batch X(kDim, cols);
  for (Index j = 0; j < kDim; ++j)
    for (Index c = 0; c < cols; ++c) X(j, c) = std::sin(1.0 + j + 3.0 * c);
  return X;
}

bool same_bits(const Batch& a, const Batch& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * 8) == 0;
}

// What every rank holds after one step's exchange, built in this process.
struct Exchanged {
  std::vector<std::uint8_t> all, overflow;
  std::vector<std::uint64_t> offsets{0}, overflow_offsets{0};
  GatheredSegments view() const { return {all, offsets, overflow, overflow_offsets}; }
};

Exchanged exchange(const Method& m, const Batch& X, std::int64_t k, std::uint64_t first,
                   const AgentPartition& p, MethodWorkspace& ws) {
  const std::uint64_t fixed =
      m.compressor().fixed_size()
          ? static_cast<std::uint64_t>(m.compressor().message_bits(kDim) / 8.0)
          : 0;
  Exchanged e;
  m.prepare(X, ws);
  for (int r = 0; r < p.ranks; ++r) {
    std::vector<std::uint8_t> segment, overflow;
    SegmentWriter writer(segment, overflow, p.count(r) * X.cols(), fixed);
    for (Index a = p.begin(r); a < p.end(r); ++a) {
      const Batch& g = m.agent_gradient(a, X, k, kSeed, first, ws);
      for (Index c = 0; c < X.cols(); ++c)
        writer.add(m.compressor(), g.col(c), Method::draw_context(a, k, kSeed, first), c);
    }
    if (fixed > 0) {
      EXPECT_EQ(segment.size(), fixed_segment_bytes(p, r, X.cols(), fixed));
    }
    e.all.insert(e.all.end(), segment.begin(), segment.end());
    e.overflow.insert(e.overflow.end(), overflow.begin(), overflow.end());
    e.offsets.push_back(e.all.size());
    e.overflow_offsets.push_back(e.overflow.size());
  }
  return e;
}

class EveryCompressor : public ::testing::TestWithParam<Case> {};

// Three steps of a block of replicas 16..19, split over 1, 2, 3 and 7 ranks (7 > 5 agents: some
// ranks own none): the state equals Method::step's bit for bit, and each message has the
// compressor's stated size.
TEST_P(EveryCompressor, DecodedSumGivesMethodStepBitForBit) {
  const Assembled parts = build(GetParam());
  const Method& m = *parts.method;
  for (int ranks : {1, 2, 3, 7}) {
    const AgentPartition p{kAgents, ranks};
    Batch local = start(4), dist = start(4), scratch(kDim, 4);
    RowVector h_local(4), h_dist(4);
    MethodWorkspace ws_local, ws_dist;
    ws_local.resize(kDim, 4);
    ws_dist.resize(kDim, 4);
    for (std::int64_t k = 0; k < 3; ++k) {
      m.step(local, k, kSeed, 16, ws_local, h_local);
      const Exchanged e = exchange(m, dist, k, 16, p, ws_dist);
      const SegmentTotals t =
          decode_and_sum(m.compressor(), e.view(), p, {k, 16, 4}, scratch, ws_dist.direction);
      m.finish(dist, k, ws_dist, h_dist);
      ASSERT_TRUE(same_bits(local, dist)) << GetParam().name << " ranks " << ranks << " k " << k;
      ASSERT_TRUE(h_local == h_dist);
      EXPECT_EQ(t.messages, static_cast<std::uint64_t>(kAgents * 4));
      EXPECT_EQ(t.raw_messages, 0u);
      // Bytes on the wire = the stated bit cost (exact for fixed sizes; bernoulli: random).
      if (GetParam().compressor != "bernoulli") {
        EXPECT_EQ(static_cast<double>(t.payload_bytes) * 8.0,
                  m.compressor().message_bits(kDim) * kAgents * 4)
            << GetParam().name;
      }
    }
  }
}

// A non-finite gradient column is sent raw: decoding gives compressor.apply's output for that
// column with its own stream, NaN and infinities included, bit for bit.
TEST_P(EveryCompressor, NonFiniteColumnsTravelRawAndEqualApply) {
  const Assembled parts = build(GetParam());
  const Compressor& comp = *parts.compressor;
  Batch G = start(3);
  G(2, 0) = std::numeric_limits<double>::infinity();
  G(5, 2) = std::numeric_limits<double>::quiet_NaN();
  G(6, 2) = -std::numeric_limits<double>::infinity();
  const DrawContext ctx{kSeed, 40, 0, 9};
  Batch applied(kDim, 3), decoded(kDim, 3), scratch(kDim, 3);
  comp.apply(G, ctx, applied);
  const std::uint64_t fixed =
      comp.fixed_size() ? static_cast<std::uint64_t>(comp.message_bits(kDim) / 8.0) : 0;
  Exchanged e;
  SegmentWriter writer(e.all, e.overflow, 3, fixed);
  for (Index c = 0; c < 3; ++c) writer.add(comp, G.col(c), ctx, c);
  e.offsets.push_back(e.all.size());
  e.overflow_offsets.push_back(e.overflow.size());
  const AgentPartition one{1, 1};
  EXPECT_EQ(count_raw_messages(e.all, e.offsets, one, 3), 2u);
  const SegmentTotals t = decode_and_sum(comp, e.view(), one, {9, 40, 3}, scratch, decoded);
  EXPECT_EQ(t.raw_messages, 2u);
  EXPECT_TRUE(same_bits(applied, decoded)) << GetParam().name;
}

// Random corruption of one byte anywhere in the exchanged bytes: either the bytes still decode
// (a value changed) or a DistError names the step; never another exception, never a crash.
TEST_P(EveryCompressor, CorruptedBytesGiveDistErrorOrDecode) {
  const Assembled parts = build(GetParam());
  const Method& m = *parts.method;
  const AgentPartition p{kAgents, 2};
  MethodWorkspace ws;
  ws.resize(kDim, 2);
  const Exchanged clean = exchange(m, start(2), 3, 0, p, ws);
  std::mt19937_64 rng(5);  // fixed seed: the same corruptions every run
  Batch scratch(kDim, 2), direction(kDim, 2);
  int errors = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Exchanged e = clean;
    e.all[rng() % e.all.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    try {
      decode_and_sum(m.compressor(), e.view(), p, {3, 0, 2}, scratch, direction);
    } catch (const DistError& err) {
      ++errors;
      EXPECT_NE(std::string(err.what()).find("step 3 (replicas 0-1)"), std::string::npos)
          << err.what();
    }
  }
  EXPECT_GT(errors, 0) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Dist, EveryCompressor,
    ::testing::Values(
        Case{"dsgd", "dsgd", "identity", {}}, Case{"rand_k", "dcsgd", "rand_k", {"compressor.k=3"}},
        Case{"bernoulli", "dcsgd", "bernoulli", {"compressor.p=0.3"}},
        Case{"qsgd", "dcsgd", "qsgd", {"compressor.levels=2"}},
        Case{"natural", "dcsgd", "natural", {}},
        Case{"natural_dithering", "dcsgd", "natural_dithering", {"compressor.levels=3"}},
        Case{"top_k", "dcsgd", "top_k", {"compressor.k=4", "method.allow_biased=true"}},
        Case{"sign", "dsignsgd", "sign", {}}, Case{"majority_vote", "majority_vote", "sign", {}},
        Case{"sign_law", "dsignsgd", "sign", {"method.sign_draw=law"}},
        Case{"nsgd", "nsgd", "rand_k", {"compressor.k=2"}}),
    [](const auto& info) { return info.param.name; });

class Malformed : public ::testing::Test {
 protected:
  Malformed() : parts_(build({"rand_k", "dcsgd", "rand_k", {"compressor.k=3"}})) {
    MethodWorkspace ws;
    ws.resize(kDim, 2);
    clean_ = exchange(*parts_.method, start(2), 7, 16, p_, ws);
  }
  std::string error_of(const Exchanged& e) {
    Batch scratch(kDim, 2), direction(kDim, 2);
    try {
      decode_and_sum(*parts_.compressor, e.view(), p_, {7, 16, 2}, scratch, direction);
    } catch (const DistError& err) {
      return err.what();
    }
    return "";
  }
  Assembled parts_;
  AgentPartition p_{kAgents, 2};  // rank 0: agents 0, 1; rank 1: agents 2, 3, 4
  Exchanged clean_;
};

TEST_F(Malformed, FlippedFormatTagNamesStepAgentRankAndReplica) {
  Exchanged e = clean_;
  // Rank 1's table has 3 agents x 2 columns; its first slot is agent 2, replica 16.
  e.all[e.offsets[1] + 6 * 8] ^= 0xFF;
  const std::string what = error_of(e);
  for (const char* part : {"step 7 (replicas 16-17)", "agent 2 (rank 1)", "replica 16",
                           "rand_k message, byte 0: format tag"})
    EXPECT_NE(what.find(part), std::string::npos) << what;
}

TEST_F(Malformed, TruncatedSegmentIsReported) {
  Exchanged e = clean_;
  e.all.pop_back();
  e.offsets[2] -= 1;
  EXPECT_NE(error_of(e).find("(rank 1)"), std::string::npos) << error_of(e);
}

TEST_F(Malformed, TableLengthBeyondTheSegmentIsReported) {
  Exchanged e = clean_;
  const std::uint64_t huge = std::uint64_t{1} << 40;
  std::memcpy(e.all.data() + e.offsets[0], &huge, 8);
  EXPECT_NE(error_of(e).find("runs past the end of the segment"), std::string::npos) << error_of(e);
}

TEST_F(Malformed, ExtraBytesAfterTheLastMessageAreReported) {
  Exchanged e = clean_;
  e.all.push_back(0);
  e.offsets[2] += 1;
  EXPECT_NE(error_of(e).find("the segment of rank 1 is malformed: 1 bytes after"),
            std::string::npos)
      << error_of(e);
}

TEST_F(Malformed, RawFlagWithoutDataIsReported) {
  Exchanged e = clean_;
  std::uint64_t entry;
  std::memcpy(&entry, e.all.data(), 8);
  entry |= kRawMessage;
  std::memcpy(e.all.data(), &entry, 8);
  EXPECT_NE(error_of(e).find("a raw message without its 96 bytes"), std::string::npos)
      << error_of(e);
}

TEST(AgentPartition, ContiguousBalancedAndCovering) {
  for (Index agents = 1; agents <= 10; ++agents) {
    for (int ranks = 1; ranks <= 6; ++ranks) {
      const AgentPartition p{agents, ranks};
      EXPECT_EQ(p.begin(0), 0);
      EXPECT_EQ(p.end(ranks - 1), agents);
      Index smallest = agents, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        EXPECT_EQ(p.end(r), r + 1 < ranks ? p.begin(r + 1) : agents);
        smallest = std::min(smallest, p.count(r));
        largest = std::max(largest, p.count(r));
        for (Index a = p.begin(r); a < p.end(r); ++a) EXPECT_EQ(p.owner(a), r);
      }
      EXPECT_LE(largest - smallest, 1) << agents << " agents, " << ranks << " ranks";
    }
  }
}

TEST(FaultPlan, ParsesTheThreeKindsAndRejectsTheRest) {
  EXPECT_EQ(parse_fault("").kind, FaultPlan::Kind::kNone);
  const FaultPlan kill = parse_fault("kill:2:57");
  EXPECT_EQ(kill.kind, FaultPlan::Kind::kKill);
  EXPECT_EQ(kill.rank, 2);
  EXPECT_EQ(kill.step, 57);
  EXPECT_EQ(parse_fault("corrupt:0:0").kind, FaultPlan::Kind::kCorrupt);
  EXPECT_EQ(parse_fault("fail:1:3").kind, FaultPlan::Kind::kFail);
  for (const char* bad : {"kill", "kill:1", "kill:-1:3", "kill:1:x", "boom:1:2", "kill:1:2:3"}) {
    try {
      parse_fault(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("DCSDE_FAULT is kill:RANK:STEP"), std::string::npos);
    }
  }
  EXPECT_EQ(parse_exchange("gather"), ExchangeMode::kGather);
  EXPECT_EQ(parse_exchange("allreduce"), ExchangeMode::kAllreduce);
  EXPECT_THROW(parse_exchange("ring"), ConfigError);
}

}  // namespace
}  // namespace dcsde::dist

#endif  // DCSDE_HAVE_MPI
