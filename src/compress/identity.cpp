#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {

void IdentityCompressor::apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const {
  detail::for_each_column(
      V, ctx, out, [](const double* x, double* y, Index d, Philox&) { std::copy(x, x + d, y); });
}

void IdentityCompressor::covariance(const ConstVectorRef& v, Eigen::Ref<Eigen::MatrixXd> K) const {
  DCSDE_ASSERT(K.rows() == v.size() && K.cols() == v.size(), "K must be d x d");
  K.setZero();
}

void IdentityCompressor::encode(const ConstVectorRef& v, Philox&,
                                std::vector<std::uint8_t>& bytes) const {
  const Index d = v.size();
  detail::check_dim(d);
  BitWriter w(bytes, static_cast<std::int64_t>(message_bits(d)));
  write_header(w, WireTag::kIdentity, d);
  w.put_doubles(v.data(), d);
  w.finish();
}

void IdentityCompressor::decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const {
  detail::check_dim(d);
  DCSDE_ASSERT(out.size() == d, "out must have size d");
  BitReader r(bytes, "identity");
  read_header(r, WireTag::kIdentity, d);
  r.expect_total_bits(static_cast<std::int64_t>(message_bits(d)));
  r.get_numbers(out.data(), d, "value");
  r.expect_end();
}

double IdentityCompressor::message_bits(Index d) const {
  return static_cast<double>(kWireHeaderBits + 64 * d);
}

}  // namespace dcsde
