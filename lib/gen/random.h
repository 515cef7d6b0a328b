// The generator's random numbers: a fixed PRNG (xoshiro256**, seeded through splitmix64) and
// hand-written samplers, so a seed gives the same stream with any standard library (the std
// distributions are implementation-defined). The samplers use only +, *, /, sqrt (exact in
// IEEE 754) and log / exp (the one platform dependence; their last-ulp differences vanish
// when amounts are rounded to cents and times to seconds).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <span>

namespace vigil::gen {

/// splitmix64 (Steele, Lea, Flood 2014): a 64-bit mixer, used for seeding and for hashing a
/// counter into ids.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// xoshiro256** 1.0 (Blackman, Vigna): fast, 256-bit state, passes BigCrush.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept {
    std::uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n), n > 0 (modulo bias < n / 2^64: irrelevant here).
  std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }
  /// True with probability p.
  bool chance(double p) noexcept { return uniform() < p; }

  /// Standard normal (Marsaglia's polar method; the spare value is discarded so that the
  /// stream position does not depend on call history).
  double normal() noexcept {
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * std::sqrt(-2.0 * std::log(s) / s);
  }
  double normal(double mean, double sd) noexcept { return mean + sd * normal(); }
  /// Log-normal given its median (= e^mu) and the sigma of its log.
  double lognormal(double median, double sigma) noexcept {
    return median * std::exp(sigma * normal());
  }
  /// Exponential with the given mean.
  double exponential(double mean) noexcept { return -mean * std::log(1.0 - uniform()); }
  /// Poisson: Knuth's product method for small means, a rounded normal for large ones.
  std::uint32_t poisson(double mean) noexcept {
    if (mean <= 0) return 0;
    if (mean > 40) {
      const double x = std::floor(normal(mean, std::sqrt(mean)) + 0.5);
      return x < 0 ? 0 : static_cast<std::uint32_t>(x);
    }
    const double limit = std::exp(-mean);
    double product = uniform();
    std::uint32_t k = 0;
    while (product > limit) {
      ++k;
      product *= uniform();
    }
    return k;
  }
  /// An index drawn from a cumulative weight table (last entry = total weight).
  std::size_t pick(std::span<const double> cumulative) noexcept {
    const double x = uniform() * cumulative.back();
    std::size_t i = 0;
    while (i + 1 < cumulative.size() && cumulative[i] <= x) ++i;
    return i;
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::array<std::uint64_t, 4> s_{};
};

}  // namespace vigil::gen
