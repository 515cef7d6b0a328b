// Internal: a log-linear latency histogram (HdrHistogram's idea at 1/16 resolution): recording
// is a few instructions and no allocation, so it can sit on the score() path.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

#include "vigil/engine.h"

namespace vigil::detail {

class LatencyHistogram {
 public:
  void record(std::uint64_t ns) noexcept {
    ++buckets_[index(ns)];
    ++count_;
    max_ = ns > max_ ? ns : max_;
  }
  LatencySummary summary() const noexcept {
    LatencySummary s;
    s.count = count_;
    s.max_ns = static_cast<double>(max_);
    if (count_ == 0) return s;
    s.p50_ns = quantile(0.5);
    s.p99_ns = quantile(0.99);
    s.p999_ns = quantile(0.999);
    return s;
  }

 private:
  // Values below 32 get a bucket each; above, 16 sub-buckets per power of two.
  static std::size_t index(std::uint64_t v) noexcept {
    if (v < 32) return static_cast<std::size_t>(v);
    const int e = std::bit_width(v) - 1;  // >= 5
    return 32 + static_cast<std::size_t>(e - 5) * 16 +
           static_cast<std::size_t>((v >> (e - 4)) - 16);
  }
  static double midpoint(std::size_t i) noexcept {
    if (i < 32) return static_cast<double>(i);
    const std::size_t e = (i - 32) / 16 + 5;
    const std::uint64_t sub = (i - 32) % 16 + 16;
    const std::uint64_t lo = sub << (e - 4);
    return static_cast<double>(lo) + static_cast<double>(std::uint64_t{1} << (e - 4)) / 2;
  }
  double quantile(double q) const noexcept {
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank)
        return midpoint(i) < static_cast<double>(max_) ? midpoint(i) : static_cast<double>(max_);
    }
    return static_cast<double>(max_);
  }

  std::array<std::uint64_t, 32 + 59 * 16> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace vigil::detail
