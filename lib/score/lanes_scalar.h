// Internal: the scalar "lane policy" of the evaluator kernel (width 1, plain doubles).
//
// The kernel in eval_impl.h is written once against a lane policy V: V::num is a register of
// V::width doubles, V::mask the result of comparing two of them. This policy is the scalar
// reference; lanes_simd.h wraps xsimd batches. Both must produce bit-identical results, which
// holds because every operation is a single IEEE-754 operation (no FMA contraction: the eval
// translation units build with -ffp-contract=off) or exact bit manipulation; transcendental
// functions are written once in eval_impl.h on top of these, never taken from libm or xsimd.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace vigil::score {

struct ScalarLanes {
  using num = double;
  using mask = bool;
  static constexpr std::size_t width = 1;
  static constexpr const char* name = "scalar";

  static num load(const double* p) noexcept { return *p; }
  static void store(double* p, num v) noexcept { *p = v; }
  static num broadcast(double v) noexcept { return v; }
  static std::uint64_t bits(mask m) noexcept { return m ? 1u : 0u; }
  /// The 64 bits of g(0), g(1), …, g(63), g(j) at bit j.
  template <class G>
  static std::uint64_t word(G g) noexcept {
    std::uint64_t out = 0;
    for (std::size_t j = 0; j < 64; ++j) out |= bits(g(j)) << j;
    return out;
  }
  static mask mask_or(mask a, mask b) noexcept { return a || b; }
  static num select(mask m, num a, num b) noexcept { return m ? a : b; }
  /// 1.0 where bit 0 of `b` is set, else 0.0.
  static num from_bits(std::uint64_t b) noexcept { return (b & 1) ? 1.0 : 0.0; }
  /// Set where bit 0 of `b` is set.
  static mask mask_from_bits(std::uint64_t b) noexcept { return (b & 1) != 0; }
  static num abs(num a) noexcept { return std::fabs(a); }
  static num neg(num a) noexcept { return -a; }
  /// 2^k for an integral k in [−1022, 1023], from bits: k + (2^52 + 1023) holds k + 1023 in
  /// its low mantissa bits, which shift into the exponent field.
  static num pow2i(num k) noexcept {
    return std::bit_cast<double>(std::bit_cast<std::uint64_t>(k + 4503599627371519.0) << 52);
  }
  /// u = m · 2^e exactly, m in (√2 / 2, √2] (√2 the double 0x3FF6A09E667F3BCD), for positive
  /// normal u, by bit manipulation only: adding 2^52 − mantissa(√2 + 1 ulp) to the bits
  /// carries into the exponent exactly when u's mantissa is above √2's (then m = 1.f / 2 and
  /// e + 1, both exact), and the rest puts the mantissa back under the right exponent.
  static void split_sqrt2(num u, num& m, num& e) noexcept {
    const auto bits = std::bit_cast<std::uint64_t>(u) + kSqrt2Carry;
    m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFULL) + kHalfSqrt2Bits);
    // (2^52 + biased exponent) − (2^52 + 1023), both exact.
    e = std::bit_cast<double>((bits >> 52) | 0x4330000000000000ULL) - 4503599627371519.0;
  }
  static constexpr std::uint64_t kHalfSqrt2Bits = 0x3FE6A09E667F3BCEULL;  // √2 / 2 + 1 ulp
  static constexpr std::uint64_t kSqrt2Carry = 0x3FF0000000000000ULL - kHalfSqrt2Bits;
};

}  // namespace vigil::score
