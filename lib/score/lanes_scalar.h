// Internal: the scalar "lane policy" of the evaluator kernel (width 1, plain doubles).
//
// The kernel in eval_impl.h is written once against a lane policy V: V::num is a register of
// V::width doubles, V::mask the result of comparing two of them. This policy is the scalar
// reference; lanes_simd.h wraps xsimd batches. Both must produce bit-identical results, which
// holds because every operation is a single IEEE-754 operation (no FMA contraction: the eval
// translation units build with -ffp-contract=off) or a per-lane call of the same libm function.
#pragma once

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
  static mask mask_or(mask a, mask b) noexcept { return a || b; }
  static num select(mask m, num a, num b) noexcept { return m ? a : b; }
  static num abs(num a) noexcept { return std::fabs(a); }
  static num log1p(num a) noexcept { return std::log1p(a); }
};

}  // namespace vigil::score
