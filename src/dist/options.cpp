// The small value types of dist/process.hpp: exchange modes, fault plans, statistics.
#include <fmt/format.h>

#include <cstdlib>

#include "dcsde/dist/process.hpp"

namespace dcsde::dist {

ExchangeMode parse_exchange(const std::string& name) {
  if (name == "gather") return ExchangeMode::kGather;
  if (name == "allreduce") return ExchangeMode::kAllreduce;
  throw ConfigError("--exchange = '" + name +
                    "'. Violated constraint: exchange is one of gather | allreduce.");
}

const char* to_string(ExchangeMode mode) {
  return mode == ExchangeMode::kGather ? "gather" : "allreduce";
}

FaultPlan parse_fault(const std::string& text) {
  if (text.empty()) return {};
  auto bad = [&]() -> ConfigError {
    return ConfigError(
        "DCSDE_FAULT = '" + text +
        "'. Violated constraint: DCSDE_FAULT is kill:RANK:STEP, "
        "corrupt:RANK:STEP or fail:RANK:STEP with RANK >= 0 and STEP >= 0 (a testing aid; unset it "
        "for normal runs).");
  };
  const auto first = text.find(':');
  const auto second = first == std::string::npos ? first : text.find(':', first + 1);
  if (second == std::string::npos) throw bad();
  FaultPlan plan;
  const std::string kind = text.substr(0, first);
  if (kind == "kill")
    plan.kind = FaultPlan::Kind::kKill;
  else if (kind == "corrupt")
    plan.kind = FaultPlan::Kind::kCorrupt;
  else if (kind == "fail")
    plan.kind = FaultPlan::Kind::kFail;
  else
    throw bad();
  auto number = [&](const std::string& s) -> long long {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 15)
      throw bad();
    return std::stoll(s);
  };
  plan.rank = static_cast<int>(number(text.substr(first + 1, second - first - 1)));
  plan.step = number(text.substr(second + 1));
  return plan;
}

FaultPlan fault_from_environment() {
  const char* value = std::getenv("DCSDE_FAULT");
  return parse_fault(value != nullptr ? value : "");
}

double CommunicationStats::bytes_per_agent_per_step() const {
  return messages > 0 ? static_cast<double>(payload_bytes) / static_cast<double>(messages) : 0.0;
}

double CommunicationStats::control_bytes_per_agent_per_step() const {
  return messages > 0 ? static_cast<double>(control_bytes) / static_cast<double>(messages) : 0.0;
}

std::string CommunicationStats::brief() const {
  std::string agents;
  for (Index n : agents_per_rank) agents += (agents.empty() ? "" : ",") + std::to_string(n);
  std::string out = fmt::format(
      "mpi, {} ranks (agents per rank {}), {}: {:.6g} bytes/agent/step on the wire (+{:.3g} "
      "control), exchange {:.3g} s, compute {:.3g} s (of which encode/decode {:.3g} s)",
      ranks, agents, to_string(exchange), bytes_per_agent_per_step(),
      control_bytes_per_agent_per_step(), comm_seconds, compute_seconds, codec_seconds);
  if (raw_messages > 0)
    out += fmt::format("; {} messages of non-finite gradients sent raw", raw_messages);
  return out;
}

nlohmann::json to_json(const CommunicationStats& s) {
  return {{"backend", "mpi"},
          {"ranks", s.ranks},
          {"exchange", to_string(s.exchange)},
          {"agents_per_rank", s.agents_per_rank},
          {"messages", s.messages},
          {"bytes_per_agent_per_step", s.bytes_per_agent_per_step()},
          {"control_bytes_per_agent_per_step", s.control_bytes_per_agent_per_step()},
          {"payload_bytes", s.payload_bytes},
          {"control_bytes", s.control_bytes},
          {"raw_messages", s.raw_messages},
          {"comm_seconds", s.comm_seconds},
          {"comm_seconds_max", s.comm_seconds_max},
          {"compute_seconds", s.compute_seconds},
          {"codec_seconds", s.codec_seconds}};
}

}  // namespace dcsde::dist
