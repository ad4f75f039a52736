// What crosses the wire in one step of a distributed run, and how it is read back (no MPI here:
// this part is plain C++ so that it is tested without ranks).
//
// Agents are split over ranks in contiguous ranges (AgentPartition). At every step each rank
// encodes the messages of its agents, one per (agent, replica column), with the compressor's wire
// format (compress/wire.hpp), into one byte *segment*:
//
//   segment = table | slot ... slot
//   table   = one little-endian uint64 per message, in (agent, column) order: the slot's length
//             in bytes; bit 63 set marks a *raw* message (see below)
//   slot    = compressor.encode(g_i column c, stream (seed, replica, agent i, kCompression, step))
//
// The segments of all ranks are gathered (dist/session.hpp), and every rank decodes every message
// and adds them into the direction in agent order 0..N-1, exactly as Method::step sums
// agent_message: Compressor's contract decode(encode(v, rng)) == apply(v, rng) makes the sum, and
// hence the whole run, bit-identical to the single-process one for any number of ranks.
//
// Fixed-size formats (Compressor::fixed_size) make every segment's length known in advance, so
// the exchange needs one collective, with no round for the sizes (`fixed_slot_bytes`).
//
// Raw messages: the wire formats reject NaN (and some reject +-inf), but a diverging replica can
// produce a non-finite gradient one step before it is frozen, and a diverging replica is data,
// not an error. A column whose gradient is not finite is therefore sent as the d binary64 values
// of compressor.apply on that column (same stream), so the run still equals the local one. Its
// data go to a separate *overflow* buffer (concatenated raw messages, in table order), exchanged
// only at steps where some table flags a raw message; its slot in the segment is zero-filled,
// of the fixed size (or empty for variable-size formats), so that segment lengths stay
// predictable. Raw messages are counted apart and never occur while every gradient is finite.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dcsde/compress/compressor.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/core/rng.hpp"
#include "dcsde/core/types.hpp"

namespace dcsde::dist {

// A failure of the distributed run: a malformed message, ranks that disagree, a fault.
class DistError : public Error {
 public:
  using Error::Error;
};

// Agents 0..N-1 split over `ranks` ranks in contiguous ranges whose sizes differ by at most one:
// rank r owns [begin(r), end(r)). Ranks beyond the agent count own none (they still decode).
struct AgentPartition {
  Index agents = 1;
  int ranks = 1;

  Index begin(int rank) const { return agents * rank / ranks; }
  Index end(int rank) const { return begin(rank + 1); }
  Index count(int rank) const { return end(rank) - begin(rank); }
  int owner(Index agent) const;  // the rank r with begin(r) <= agent < end(r)
};

// Where a step happens, for error messages: step k of the column block starting at replica
// first_replica (the runner advances blocks one after the other).
struct StepTag {
  std::int64_t step = 0;
  std::uint64_t first_replica = 0;
  Index cols = 0;
  std::string describe() const;  // "step 57 (replicas 16-31)"
};

// Bit 63 of a table entry: the message is raw (its data are in the overflow buffer).
inline constexpr std::uint64_t kRawMessage = std::uint64_t{1} << 63;

// The length of rank r's segment when every slot has `fixed_slot_bytes` bytes.
std::uint64_t fixed_segment_bytes(const AgentPartition& partition, int rank, Index cols,
                                  std::uint64_t fixed_slot_bytes);

// Builds one rank's segment and overflow buffer. Construct with the number of messages, then add
// them in (agent, column) order.
class SegmentWriter {
 public:
  // Clears `out` and `overflow` and reserves the table of `messages` entries. fixed_slot_bytes:
  // the size of every message of a fixed-size format (0 for variable-size formats).
  SegmentWriter(std::vector<std::uint8_t>& out, std::vector<std::uint8_t>& overflow, Index messages,
                std::uint64_t fixed_slot_bytes);
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Appends the message of column `column` of an agent's gradient block: ctx names the agent's
  // streams at this step (Method::draw_context) and the column's replica is
  // ctx.first_replica + column. A non-finite `v` is sent raw (see above).
  void add(const Compressor& compressor, const ConstVectorRef& v, const DrawContext& ctx,
           Index column);
  Index added() const { return next_; }

 private:
  std::vector<std::uint8_t>& out_;
  std::vector<std::uint8_t>& overflow_;
  Index messages_;
  std::uint64_t fixed_;
  Index next_ = 0;
  Vector raw_in_, raw_out_;  // one column, for compressor.apply on a raw message
};

// Bytes read by one decode_and_sum.
struct SegmentTotals {
  std::uint64_t messages = 0;       // messages read
  std::uint64_t payload_bytes = 0;  // their bytes: wire format, or 8 d for a raw message
  std::uint64_t control_bytes = 0;  // segment tables and the placeholder slots of raw messages
  std::uint64_t raw_messages = 0;
};

// Rank r's segment is all[offsets[r], offsets[r + 1]) (offsets has ranks + 1 entries), and its
// overflow buffer overflow[overflow_offsets[r], overflow_offsets[r + 1]).
struct GatheredSegments {
  std::span<const std::uint8_t> all;
  std::span<const std::uint64_t> offsets;
  std::span<const std::uint8_t> overflow;
  std::span<const std::uint64_t> overflow_offsets;
};

// The number of raw messages flagged in the tables of every segment: the overflow buffers must
// be exchanged before decoding when it is not 0. Segments too short for their table count as
// none (decode_and_sum reports them).
std::uint64_t count_raw_messages(std::span<const std::uint8_t> all,
                                 std::span<const std::uint64_t> offsets,
                                 const AgentPartition& partition, Index cols);

// Decodes every agent's messages and sets direction (d x cols) = the sum over agents 0..N-1, in
// that order, of the decoded messages. `scratch` (d x cols) holds one agent's messages at a time.
// Throws DistError naming the step, agent, replica and sending rank, with the WireFormatError's
// text, for any malformed message or table; the same bytes give the same error on every rank.
// `compressors` holds agent a's compressor at a (one per agent), or every agent's at 0.
SegmentTotals decode_and_sum(std::span<const Compressor* const> compressors,
                             const GatheredSegments& segments, const AgentPartition& partition,
                             const StepTag& where, BatchRef scratch, BatchRef direction);
inline SegmentTotals decode_and_sum(const Compressor& compressor, const GatheredSegments& segments,
                                    const AgentPartition& partition, const StepTag& where,
                                    BatchRef scratch, BatchRef direction) {
  const Compressor* one = &compressor;
  return decode_and_sum(std::span<const Compressor* const>(&one, 1), segments, partition, where,
                        scratch, direction);
}

}  // namespace dcsde::dist
