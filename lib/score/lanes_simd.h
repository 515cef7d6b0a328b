// Internal: the xsimd lane policy of the evaluator kernel, one per instruction set.
//
// Include only from the per-arch translation units (eval_<arch>.cc), which are built with that
// arch's flags. No transcendental function comes from xsimd (its log1p may differ from the
// scalar path's in the last ulp): eval_impl.h builds them from the policy's exact operations.
#pragma once

#include <immintrin.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

namespace vigil::score {

template <class Arch>
struct SimdLanes {
  using num = xsimd::batch<double, Arch>;
  using mask = xsimd::batch_bool<double, Arch>;
  static constexpr std::size_t width = num::size;

  static num load(const double* p) noexcept { return num::load_aligned(p); }
  static void store(double* p, num v) noexcept { v.store_aligned(p); }
  static num broadcast(double v) noexcept { return num(v); }
  // xsimd 8.1 has no batch_bool → bitmask conversion, so read the register directly.
  static std::uint64_t bits(mask m) noexcept {
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      return static_cast<std::uint64_t>(static_cast<__mmask8>(m));
    } else if constexpr (std::is_base_of_v<xsimd::avx, Arch>) {
      return static_cast<std::uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(m)));
    } else {
      return static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_pd(m)));
    }
  }
  // The 64 bits of one mask word: g(j) compares rows j .. j + width − 1, for j = 0, width, …,
  // 56; row j lands on bit j. AVX-512 joins the eight 8-bit masks with kunpck in mask
  // registers (7 operations) instead of moving, shifting and or-ing each one (24).
  template <class G>
  static std::uint64_t word(G g) noexcept {
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      const __mmask16 b0 =
          _mm512_kunpackb(static_cast<__mmask8>(g(8)), static_cast<__mmask8>(g(0)));
      const __mmask16 b1 =
          _mm512_kunpackb(static_cast<__mmask8>(g(24)), static_cast<__mmask8>(g(16)));
      const __mmask16 b2 =
          _mm512_kunpackb(static_cast<__mmask8>(g(40)), static_cast<__mmask8>(g(32)));
      const __mmask16 b3 =
          _mm512_kunpackb(static_cast<__mmask8>(g(56)), static_cast<__mmask8>(g(48)));
      const __mmask32 w0 = _mm512_kunpackw(b1, b0);
      const __mmask32 w1 = _mm512_kunpackw(b3, b2);
      return static_cast<std::uint64_t>(_mm512_kunpackd(w1, w0));
    } else {
      std::uint64_t out = 0;
      for (std::size_t j = 0; j < 64; j += width) out |= bits(g(j)) << j;
      return out;
    }
  }
  static mask mask_or(mask a, mask b) noexcept { return a | b; }
  static num select(mask m, num a, num b) noexcept { return xsimd::select(m, a, b); }
  /// Lane j is 1.0 where bit j of `b` is set, else 0.0 (bits past the width ignored).
  static num from_bits(std::uint64_t b) noexcept {
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      return num(_mm512_maskz_mov_pd(static_cast<__mmask8>(b), _mm512_set1_pd(1.0)));
    } else {
      static constexpr auto kTable = [] {
        std::array<std::array<double, width>, std::size_t{1} << width> t{};
        for (std::size_t v = 0; v < t.size(); ++v) {
          for (std::size_t j = 0; j < width; ++j) t[v][j] = (v >> j) & 1 ? 1.0 : 0.0;
        }
        return t;
      }();
      return num::load_unaligned(kTable[b & ((std::uint64_t{1} << width) - 1)].data());
    }
  }
  /// Lane j set where bit j of `b` is set (bits past the width ignored): a mask register's
  /// rows as a lane mask, one table load (a k-register move on AVX-512).
  static mask mask_from_bits(std::uint64_t b) noexcept {
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      return mask(static_cast<__mmask8>(b));
    } else {
      using bits_t = xsimd::batch<std::uint64_t, Arch>;
      alignas(64) static constexpr auto kTable = [] {
        std::array<std::array<std::uint64_t, width>, std::size_t{1} << width> t{};
        for (std::size_t v = 0; v < t.size(); ++v) {
          for (std::size_t j = 0; j < width; ++j) t[v][j] = (v >> j) & 1 ? ~std::uint64_t{0} : 0;
        }
        return t;
      }();
      const auto lanes = bits_t::load_aligned(kTable[b & ((std::uint64_t{1} << width) - 1)].data());
      return mask(xsimd::bitwise_cast<num>(lanes).data);
    }
  }
  static num abs(num a) noexcept { return xsimd::abs(a); }
  // A sign flip, not xsimd's unary minus: xsimd 8.1 computes that as 0 − a on AVX-512, which
  // turns −0 into +0 (and 1 / −0 into +inf).
  static num neg(num a) noexcept { return a ^ num(-0.0); }
  static num pow2i(num k) noexcept {
    using bits_t = xsimd::batch<std::uint64_t, Arch>;
    return xsimd::bitwise_cast<num>(xsimd::bitwise_cast<bits_t>(k + num(4503599627371519.0)) << 52);
  }
  // As ScalarLanes::split_sqrt2.
  static void split_sqrt2(num u, num& m, num& e) noexcept {
    using bits_t = xsimd::batch<std::uint64_t, Arch>;
    constexpr std::uint64_t kHalfSqrt2Bits = 0x3FE6A09E667F3BCEULL;
    const auto bits =
        xsimd::bitwise_cast<bits_t>(u) + bits_t(0x3FF0000000000000ULL - kHalfSqrt2Bits);
    m = xsimd::bitwise_cast<num>((bits & bits_t(0x000FFFFFFFFFFFFFULL)) + bits_t(kHalfSqrt2Bits));
    e = xsimd::bitwise_cast<num>((bits >> 52) | bits_t(0x4330000000000000ULL)) -
        num(4503599627371519.0);
  }
};

}  // namespace vigil::score
