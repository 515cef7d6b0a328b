// File: lib/model/trig.h
//
// sin, cos and asin for the haversine distance (lib/model/model.cc), inline and in plain double
// arithmetic. libm picks its sin/cos code at run time (__sin_fma on FMA machines, the SSE2 one
// elsewhere) and pays a call, a dispatch and an fenv wrapper per value; these kernels are a few
// multiply-adds the compiler inlines. They use only +, -, *, / and sqrt, each correctly rounded,
// so they give the same bits on every machine as long as the compiler does not fuse a*b + c
// into an FMA: GCC does so whenever the target has FMA (any such -march, even in ISO mode), so
// fp-contract is off for these definitions (clang) and the functions that inline them (GCC,
// lib/model/model.cc).
//
// Ranges: the polynomials cover |x| <= pi for sin and cos (what coordinates in range need) and
// [-1, 1] for asin; beyond (garbage coordinates, inf, NaN) they hand over to libm.
// Accuracy (tests/model/trig_test.cc): < 1.5 ulp against long double libm.
//
// The kernels are fdlibm's scheme (k_sin.c, k_cos.c, e_asin.c) with coefficients refitted here:
// weighted least squares in mpmath on Chebyshev nodes, each coefficient rounded to double in turn
// and the rest refitted around it; the error of each fit is quoted beside it, in ulp of the result.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

// Clang fuses when it generates a function's body, so the setting goes with the definitions.
#if defined(__clang__)
#pragma float_control(push)
#pragma clang fp contract(off)
#endif

namespace vigil::detail {

// Cody-Waite splits: hi is the double nearest, lo the rest (pi - hi, pi/2 - hi/2).
inline constexpr double kPiHi = 0x1.921fb54442d18p+1;
inline constexpr double kPiLo = 0x1.1a62633145c07p-53;
inline constexpr double kPio2Hi = 0x1.921fb54442d18p+0;
inline constexpr double kPio2Lo = 0x1.1a62633145c07p-54;
inline constexpr double kPio4Hi = 0x1.921fb54442d18p-1;
inline constexpr double k3Pio4 = 0x1.2d97c7f3321d2p+1;  // a threshold only

/// sin(x) for |x| <= pi/4: x + x³·S(x²) (fit error 0.03 ulp). T is double or a GCC vector of
/// doubles: each lane does the same operations in the same order, so the same bits. (GCC 12
/// broadcasts each constant at run time, movsd + unpcklpd, whatever way it is written.)
template <class T>
inline T sin_kernel(T x) noexcept {
  const T t = x * x;
  const T p = -0x1.5555555555548p-3 +
              t * (0x1.111111110f75dp-7 +
                   t * (-0x1.a01a019bf22f2p-13 +
                        t * (0x1.71de355f1c731p-19 +
                             t * (-0x1.ae5e548d98501p-26 + t * 0x1.5d8e3faa69bb0p-33))));
  return x + x * t * p;
}

/// sin(x + y) for |x| <= pi/4, |y| tiny: sin_kernel's polynomial with y·cos(x) ~ y·(1 - x²/2)
/// added in fdlibm's order (k_sin.c), so the rounding of x + y costs nothing.
inline double sin_kernel(double x, double y) noexcept {
  const double t = x * x;
  const double v = t * x;
  const double r =
      0x1.111111110f75dp-7 +
      t * (-0x1.a01a019bf22f2p-13 +
           t * (0x1.71de355f1c731p-19 + t * (-0x1.ae5e548d98501p-26 + t * 0x1.5d8e3faa69bb0p-33)));
  return x - ((t * (0.5 * y - v * r) - y) - v * -0x1.5555555555548p-3);
}

/// cos(x + y) for |x| <= pi/4, |y| tiny (the low part of a reduced argument): 1 - x²/2 +
/// x⁴·C(x²) - x·y (fit error 0.001 ulp), with fdlibm's recovery of the rounding of 1 - x²/2,
/// which is most of the result.
template <bool kTail>
inline double cos_kernel_impl(double x, double y) noexcept {
  const double t = x * x;
  const double q = t * t *
                   (0x1.555555555554ap-5 +
                    t * (-0x1.6c16c16c14e4ap-10 +
                         t * (0x1.a01a019c689eep-16 +
                              t * (-0x1.27e4f7d9024a5p-22 +
                                   t * (0x1.1ee9cccc4021dp-29 + t * -0x1.8f9f6dc0b2518p-37)))));
  const double hz = 0.5 * t;
  const double w = 1.0 - hz;
  return w + (((1.0 - w) - hz) + (kTail ? q - x * y : q));
}

inline double cos_kernel(double x, double y) noexcept { return cos_kernel_impl<true>(x, y); }
/// cos(x) for |x| <= pi/4 (no x·0 left for the compiler to keep: it cannot fold it away).
inline double cos_kernel(double x) noexcept { return cos_kernel_impl<false>(x, 0.0); }

/// asin(s) - s for 0 <= s <= sqrt(0.3), given t = s² (the haversine has it exactly):
/// s·t·P(t) (fit error 0.2 ulp).
inline double asin_tail(double s, double t) noexcept {
  const double p =
      0x1.555555555576ap-3 +
      t * (0x1.33333332f036bp-4 +
           t * (0x1.6db6db9d010cbp-5 +
                t * (0x1.f1c70ba15f50ap-6 +
                     t * (0x1.6e8d65625ddd5p-6 +
                          t * (0x1.1c3094f1f885ap-6 +
                               t * (0x1.cc518acb0f424p-7 +
                                    t * (0x1.64ed04d657c05p-7 +
                                         t * (0x1.b72f7eb3c8bb7p-7 +
                                              t * (-0x1.65458d7d346acp-8 +
                                                   t * (0x1.5ab743b04d8ffp-5 +
                                                        t * (-0x1.896832a7fe67dp-5 +
                                                             t * 0x1.8bb44455c0bfdp-5)))))))))));
  return s * t * p;
}

/// asin_tail for s <= 1/8 (t <= 1/64: distances up to ~1600 km, nearly all of them): half the
/// terms (fit error 0.004 ulp).
inline double asin_tail_small(double s, double t) noexcept {
  const double p = 0x1.5555555555514p-3 +
                   t * (0x1.333333335a684p-4 +
                        t * (0x1.6db6daefcf7adp-5 +
                             t * (0x1.f1c7d69139c4bp-6 +
                                  t * (0x1.6e462116496a4p-6 + t * 0x1.2906e331c23b3p-6))));
  return s * t * p;
}

/// asin(s) for s > sqrt(0.3) as pi/2 - 2·asin(w), w = sqrt(z), z = (1 - s) / 2 + dz (dz: the low
/// part of z when z is not a double). w <= 0.48, so asin_tail covers it and 2·asin(w) < 1 stays
/// in the binade of the result. As in fdlibm's e_asin.c, w is taken as wh + c, wh its upper 21
/// bits (wh² exact) and c = sqrt(z + dz) - wh, which recovers sqrt's rounding.
inline double asin_complement(double z, double dz) noexcept {
  if (z == 0.0) return kPio2Hi;  // s == 1 (the pole of c below)
  const double w = std::sqrt(z);
  const double wh = std::bit_cast<double>(std::bit_cast<std::uint64_t>(w) & 0xFFFFFFFF00000000u);
  const double c = ((z - wh * wh) + dz) / (w + wh);
  const double p = 2.0 * asin_tail(w, z) - (kPio2Lo - 2.0 * c);
  const double q = kPio4Hi - 2.0 * wh;
  return kPio4Hi - (p - q);
}

/// Largest argument of the direct asin polynomial (t = s² <= 0.3).
inline constexpr double kAsinSplit = 0.5477;
inline constexpr double kAsinSplitSq = 0.3;
inline constexpr double kAsinSmallSq = 1.0 / 64;

/// sin(x): kernels for |x| <= pi, libm beyond. The reduced argument is (pi/2 - |x|) + pi/2's low
/// part, or (pi - |x|) + pi's: the first difference is exact where it is used (Sterbenz), the
/// second sum goes to the kernel unrounded.
inline double sin(double x) noexcept {
  const double ax = std::fabs(x);
  if (ax <= kPio4Hi) return ax < 0x1p-26 ? x : sin_kernel(x);  // keeps -0.0 (x³/6 < ulp/2)
  if (!(ax <= kPiHi)) return std::sin(x);                      // NaN, inf, garbage: libm's answer
  const double r = ax <= k3Pio4 ? cos_kernel(kPio2Hi - ax, kPio2Lo) : sin_kernel(kPiHi - ax, kPiLo);
  return std::copysign(r, x);
}

/// cos(x): kernels for |x| <= pi, libm beyond.
inline double cos(double x) noexcept {
  const double ax = std::fabs(x);
  if (ax <= kPio4Hi) return cos_kernel(ax);
  if (!(ax <= kPiHi)) return std::cos(x);
  if (ax <= k3Pio4) return sin_kernel(kPio2Hi - ax, kPio2Lo);
  return -cos_kernel(kPiHi - ax, kPiLo);
}

/// asin(x) for |x| <= 1, libm beyond (NaN).
inline double asin(double x) noexcept {
  const double ax = std::fabs(x);
  double r;
  if (ax <= kAsinSplit) {
    r = ax + asin_tail(ax, ax * ax);
  } else if (ax <= 1.0) {
    r = asin_complement((1.0 - ax) * 0.5, 0.0);  // exact (Sterbenz)
  } else {
    return std::asin(x);
  }
  return std::copysign(r, x);
}

/// asin(sqrt(a)) for a in [0, 1] (NaN and negative a give NaN): the haversine's last step.
inline double asin_sqrt(double a) noexcept {
  const double s = std::sqrt(a);
  if (a <= kAsinSmallSq) return s + asin_tail_small(s, a);
  if (a <= kAsinSplitSq) return s + asin_tail(s, a);
  // Near a = 1 (antipodes) 1 - sqrt(a) needs sqrt's rounding back: sqrt(a) = s + d with
  // d = (a - s²) / 2s, s² exact as p + e (Dekker's product); then 1 - s is exact (Sterbenz)
  // and (1 - s) - d is kept as u + e2 (Fast2Sum).
  constexpr double kSplit = 0x1p27 + 1;
  const double cs = kSplit * s;
  const double sh = cs - (cs - s);
  const double sl = s - sh;
  const double p = s * s;
  const double e = ((sh * sh - p) + 2.0 * sh * sl) + sl * sl;
  const double d = ((a - p) - e) / (2.0 * s);
  const double u = (1.0 - s) - d;
  const double e2 = ((1.0 - s) - u) - d;
  return asin_complement(0.5 * u, 0.5 * e2);
}

}  // namespace vigil::detail

#if defined(__clang__)
#pragma float_control(pop)
#endif
