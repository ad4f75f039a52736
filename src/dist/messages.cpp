#include "dcsde/dist/messages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace dcsde::dist {
namespace {

constexpr std::size_t kEntryBytes = sizeof(std::uint64_t);

std::uint64_t read_entry(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, kEntryBytes);  // little-endian host (wire.hpp asserts it)
  return v;
}

}  // namespace

int AgentPartition::owner(Index agent) const {
  // begin(r) is non-decreasing in r and begin(ranks) = agents: the largest r with
  // begin(r) <= agent has end(r) > agent, so it owns the agent (empty ranges are skipped).
  int lo = 0, hi = ranks - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (begin(mid) <= agent)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

std::string StepTag::describe() const {
  return fmt::format("step {} (replicas {}-{})", step, first_replica,
                     first_replica + static_cast<std::uint64_t>(cols) - 1);
}

std::uint64_t fixed_segment_bytes(const AgentPartition& partition, int rank, Index cols,
                                  std::uint64_t fixed_slot_bytes) {
  return static_cast<std::uint64_t>(partition.count(rank) * cols) *
         (kEntryBytes + fixed_slot_bytes);
}

SegmentWriter::SegmentWriter(std::vector<std::uint8_t>& out, std::vector<std::uint8_t>& overflow,
                             Index messages, std::uint64_t fixed_slot_bytes)
    : out_(out), overflow_(overflow), messages_(messages), fixed_(fixed_slot_bytes) {
  out_.assign(static_cast<std::size_t>(messages) * kEntryBytes, 0);
  overflow_.clear();
}

void SegmentWriter::add(const Compressor& compressor, const ConstVectorRef& v,
                        const DrawContext& ctx, Index column) {
  DCSDE_ASSERT(next_ < messages_, "more messages than the segment was made for");
  const std::size_t before = out_.size();
  std::uint64_t entry;
  if (v.allFinite()) {
    Philox rng = ctx.stream(column, Purpose::kCompression);
    compressor.encode(v, rng, out_);
    entry = out_.size() - before;
    DCSDE_ASSERT(fixed_ == 0 || entry == fixed_,
                 "a fixed-size compressor wrote a message of another size than message_bits/8");
  } else {
    // apply on this one column with its own stream: a 1-column block whose first replica is
    // the column's replica draws exactly what the agent's whole block would for it.
    DrawContext one = ctx;
    one.first_replica += static_cast<std::uint64_t>(column);
    raw_in_ = v;
    raw_out_.resize(v.size());
    compressor.apply(raw_in_, one, raw_out_);
    const std::size_t n = static_cast<std::size_t>(v.size()) * sizeof(double);
    const std::size_t at = overflow_.size();
    overflow_.resize(at + n);
    std::memcpy(overflow_.data() + at, raw_out_.data(), n);
    out_.resize(before + fixed_, 0);  // placeholder: segment lengths stay predictable
    entry = fixed_ | kRawMessage;
  }
  std::memcpy(out_.data() + static_cast<std::size_t>(next_) * kEntryBytes, &entry, kEntryBytes);
  ++next_;
}

std::uint64_t count_raw_messages(std::span<const std::uint8_t> all,
                                 std::span<const std::uint64_t> offsets,
                                 const AgentPartition& partition, Index cols) {
  std::uint64_t raw = 0;
  for (int r = 0; r < partition.ranks; ++r) {
    const std::uint64_t begin = offsets[static_cast<std::size_t>(r)];
    const std::uint64_t end = offsets[static_cast<std::size_t>(r) + 1];
    const auto messages = static_cast<std::uint64_t>(partition.count(r) * cols);
    if (end < begin || end > all.size() || end - begin < messages * kEntryBytes) continue;
    for (std::uint64_t m = 0; m < messages; ++m)
      raw += (read_entry(all.data() + begin + m * kEntryBytes) & kRawMessage) != 0 ? 1 : 0;
  }
  return raw;
}

SegmentTotals decode_and_sum(std::span<const Compressor* const> compressors,
                             const GatheredSegments& segments, const AgentPartition& partition,
                             const StepTag& where, BatchRef scratch, BatchRef direction) {
  DCSDE_ASSERT(
      compressors.size() == 1 || static_cast<Index>(compressors.size()) == partition.agents,
      "one compressor for every agent, or one per agent");
  const Index d = direction.rows();
  const Index cols = direction.cols();
  const auto raw_bytes = static_cast<std::uint64_t>(d) * sizeof(double);
  DCSDE_ASSERT(static_cast<int>(segments.offsets.size()) == partition.ranks + 1 &&
                   segments.overflow_offsets.size() == segments.offsets.size(),
               "one offset per rank + 1");
  DCSDE_ASSERT(scratch.rows() == d && scratch.cols() == cols, "scratch must be d x cols");
  SegmentTotals totals;
  direction.setZero();  // as Method::step: 0 + m_0 + m_1 + ..., the same roundings
  for (int r = 0; r < partition.ranks; ++r) {
    const auto ri = static_cast<std::size_t>(r);
    const std::uint64_t seg_begin = segments.offsets[ri];
    const std::uint64_t seg_end = segments.offsets[ri + 1];
    const std::uint64_t messages = static_cast<std::uint64_t>(partition.count(r) * cols);
    const std::uint64_t table = messages * kEntryBytes;
    if (seg_end < seg_begin || seg_end > segments.all.size() || seg_end - seg_begin < table) {
      throw DistError(
          fmt::format("{}: the segment of rank {} is malformed: {} bytes, too short "
                      "for the table of its {} messages",
                      where.describe(), r, seg_end - seg_begin, messages));
    }
    const std::uint8_t* base = segments.all.data() + seg_begin;
    const std::uint64_t length = seg_end - seg_begin;
    std::uint64_t at = table;  // next slot, relative to the segment
    std::uint64_t raw_at = segments.overflow_offsets[ri];
    const std::uint64_t raw_end =
        std::min<std::uint64_t>(segments.overflow_offsets[ri + 1], segments.overflow.size());
    for (Index a = partition.begin(r); a < partition.end(r); ++a) {
      const Compressor& compressor =
          *compressors[compressors.size() == 1 ? 0 : static_cast<std::size_t>(a)];
      for (Index c = 0; c < cols; ++c) {
        const auto m = static_cast<std::uint64_t>((a - partition.begin(r)) * cols + c);
        const std::uint64_t entry = read_entry(base + m * kEntryBytes);
        const std::uint64_t size = entry & ~kRawMessage;
        auto message = [&] {
          return fmt::format("{}: the message of agent {} (rank {}) for replica {}",
                             where.describe(), a, r,
                             where.first_replica + static_cast<std::uint64_t>(c));
        };
        if (size > length - at) {
          throw DistError(
              fmt::format("{} is malformed: its length {} runs past the end of the "
                          "segment ({} bytes left)",
                          message(), size, length - at));
        }
        if ((entry & kRawMessage) != 0) {
          if (raw_at > raw_end || raw_end - raw_at < raw_bytes) {
            throw DistError(message() + " is malformed: a raw message without its " +
                            std::to_string(raw_bytes) + " bytes of data");
          }
          std::memcpy(scratch.col(c).data(), segments.overflow.data() + raw_at, raw_bytes);
          raw_at += raw_bytes;
          totals.payload_bytes += raw_bytes;
          totals.control_bytes += size;
          ++totals.raw_messages;
        } else {
          try {
            compressor.decode(std::span<const std::uint8_t>(base + at, size), d, scratch.col(c));
          } catch (const WireFormatError& e) {
            throw DistError(message() + " is malformed: " + e.what());
          }
          totals.payload_bytes += size;
        }
        at += size;
        ++totals.messages;
      }
      direction += scratch;  // agent order 0..N-1: ranks in order, agents in order within each
    }
    if (at != length || raw_at != raw_end) {
      throw DistError(
          fmt::format("{}: the segment of rank {} is malformed: {} bytes after its "
                      "last message",
                      where.describe(), r, (length - at) + (raw_end - raw_at)));
    }
    totals.control_bytes += table;
  }
  return totals;
}

}  // namespace dcsde::dist
