// The haversine's own sin, cos and asin (lib/model/trig.h) against long double libm, in ulps of
// the double result, over the ranges the haversine uses, their tails and special values; then
// haversine_km against the textbook formula in long double.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "model/trig.h"
#include "vigil/model.h"

namespace {

using vigil::detail::kPiHi;
using vigil::detail::kPio2Hi;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr long double kPiL = 3.141592653589793238462643383279502884L;

/// |got - want| in units in the last place of want rounded to double (subnormals: 2^-1074).
double ulp_error(double got, long double want) {
  const double w = static_cast<double>(want);
  int e = 0;
  std::frexp(w, &e);  // w = m·2^e, 0.5 <= |m| < 1
  const long double ulp = std::ldexp(1.0L, std::max(e - 53, -1074));
  return static_cast<double>(std::fabs(static_cast<long double>(got) - want) / ulp);
}

/// Values spread over the binades of [lo, hi] (lo > 0): tiny and subnormal arguments.
double log_uniform(std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> u(std::log(lo), std::log(hi));
  return std::exp(u(rng));
}

struct MaxUlp {
  double ulp = 0;
  double at = 0;
  void add(double got, long double want, double x) {
    const double e = ulp_error(got, want);
    if (e > ulp) ulp = e, at = x;
  }
};

}  // namespace

TEST_CASE("trig sin stays within 1.5 ulp on its range and falls back to libm", "[model][trig]") {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> full(-kPiHi, kPiHi), unit(0, 1);
  MaxUlp m;
  auto check = [&](double x) {
    m.add(vigil::detail::sin(x), std::sin(static_cast<long double>(x)), x);
  };
  for (int i = 0; i < 400000; ++i) {
    check(full(rng));
    const double tiny = log_uniform(rng, 1e-320, 1.0);
    check(i % 2 ? tiny : -tiny);
    check(kPio2Hi + (unit(rng) - 0.5) * 1e-3);    // top of the polynomial
    check(kPiHi - log_uniform(rng, 1e-16, 1.0));  // the fold near pi: sin small again
    check(-(kPiHi - log_uniform(rng, 1e-16, 1e-3)));
  }
  for (double x :
       {kPio2Hi, -kPio2Hi, kPiHi, -kPiHi, 0.5, 1.0, 2.0, 3.0, 5e-324, -5e-324, 1e-300, 1e-8}) {
    check(x);
  }
  INFO("worst at x = " << m.at);
  CHECK(m.ulp < 1.5);
  // Signed zero, subnormals and exact small arguments come out as libm's.
  CHECK(std::signbit(vigil::detail::sin(-0.0)));
  CHECK(vigil::detail::sin(0.0) == 0.0);
  CHECK_FALSE(std::signbit(vigil::detail::sin(0.0)));
  CHECK(vigil::detail::sin(5e-324) == 5e-324);
  CHECK(vigil::detail::sin(-1e-200) == -1e-200);
  // Beyond pi, inf and NaN: libm.
  for (double x : {4.0, -4.0, 1e6, 1e300, -7.5}) CHECK(vigil::detail::sin(x) == std::sin(x));
  CHECK(std::isnan(vigil::detail::sin(kInf)));
  CHECK(std::isnan(vigil::detail::sin(-kInf)));
  CHECK(std::isnan(vigil::detail::sin(kNaN)));
}

TEST_CASE("trig cos stays within 1.5 ulp on its range and falls back to libm", "[model][trig]") {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> full(-kPiHi, kPiHi), lat(-90, 90);
  MaxUlp m;
  auto check = [&](double x) {
    m.add(vigil::detail::cos(x), std::cos(static_cast<long double>(x)), x);
  };
  const double rad = 3.14159265358979323846 / 180.0;
  for (int i = 0; i < 400000; ++i) {
    check(full(rng));
    check(lat(rng) * rad);
    const double tiny = log_uniform(rng, 1e-320, 1.0);
    check(i % 2 ? tiny : -tiny);
    check(kPio2Hi - log_uniform(rng, 1e-17, 1e-2));  // cos small: relative accuracy kept
    check(-kPio2Hi + log_uniform(rng, 1e-17, 1e-2));
    check(kPio2Hi + log_uniform(rng, 1e-17, 1e-2));
    check(kPiHi - log_uniform(rng, 1e-17, 1.0));
  }
  for (double x : {0.0, -0.0, kPio2Hi, -kPio2Hi, kPiHi, -kPiHi, 90 * rad, -90 * rad, 5e-324})
    check(x);
  INFO("worst at x = " << m.at);
  CHECK(m.ulp < 1.5);
  CHECK(vigil::detail::cos(0.0) == 1.0);
  CHECK(vigil::detail::cos(-0.0) == 1.0);
  CHECK(vigil::detail::cos(1e-9) == 1.0);
  for (double x : {4.0, -4.0, 1e6, 1e300}) CHECK(vigil::detail::cos(x) == std::cos(x));
  CHECK(std::isnan(vigil::detail::cos(kInf)));
  CHECK(std::isnan(vigil::detail::cos(kNaN)));
  // haversine_cos_lat is this cos of lat·pi/180; any finite latitude gets a finite answer.
  MaxUlp c;
  for (int i = 0; i < 200000; ++i) {
    const double a = lat(rng);
    c.add(vigil::haversine_cos_lat(a), std::cos(static_cast<long double>(a * rad)), a);
  }
  for (double a : {90.0, -90.0, 89.999999999, -89.999999999, 0.0, 45.0}) {
    c.add(vigil::haversine_cos_lat(a), std::cos(static_cast<long double>(a * rad)), a);
  }
  INFO("haversine_cos_lat worst at lat = " << c.at);
  CHECK(c.ulp < 1.5);
  CHECK(vigil::haversine_cos_lat(0) == 1.0);
  for (double a : {180.0, -270.0, 1e6, 1e300, -1e308}) {
    CHECK(std::isfinite(vigil::haversine_cos_lat(a)));
    CHECK(vigil::haversine_cos_lat(a) == std::cos(a * rad));
  }
}

TEST_CASE("trig asin stays within 1.5 ulp on -1..1", "[model][trig]") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> full(-1, 1), unit(0, 1);
  MaxUlp m;
  auto check = [&](double x) {
    m.add(vigil::detail::asin(x), std::asin(static_cast<long double>(x)), x);
  };
  for (int i = 0; i < 400000; ++i) {
    check(full(rng));
    const double tiny = log_uniform(rng, 1e-320, 1.0);
    check(i % 2 ? tiny : -tiny);
    check(1 - log_uniform(rng, 1e-16, 0.5));  // near 1: the complement
    check(-(1 - log_uniform(rng, 1e-16, 0.5)));
    check(vigil::detail::kAsinSplit + (unit(rng) - 0.5) * 1e-2);  // both sides of the split
  }
  for (double x : {0.5, vigil::detail::kAsinSplit, std::nextafter(vigil::detail::kAsinSplit, 1.0),
                   1.0, -1.0, std::nextafter(1.0, 0.0), 5e-324}) {
    check(x);
  }
  INFO("worst at x = " << m.at);
  CHECK(m.ulp < 1.5);
  CHECK(vigil::detail::asin(1.0) == kPio2Hi);
  CHECK(vigil::detail::asin(-1.0) == -kPio2Hi);
  CHECK(vigil::detail::asin(0.0) == 0.0);
  CHECK(std::signbit(vigil::detail::asin(-0.0)));
  CHECK(vigil::detail::asin(1e-300) == 1e-300);
  CHECK(std::isnan(vigil::detail::asin(1.0000000000000002)));
  CHECK(std::isnan(vigil::detail::asin(-2.0)));
  CHECK(std::isnan(vigil::detail::asin(kInf)));
  CHECK(std::isnan(vigil::detail::asin(kNaN)));
}

TEST_CASE("trig asin of a square root stays within 1.5 ulp on 0..1", "[model][trig]") {
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> unit(0, 1);
  MaxUlp m;
  auto check = [&](double a) {
    // atan2 form: asinl(sqrtl(a)) would amplify sqrtl's rounding near a = 1.
    const long double la = a;
    m.add(vigil::detail::asin_sqrt(a), std::atan2(std::sqrt(la), std::sqrt(1 - la)), a);
  };
  for (int i = 0; i < 400000; ++i) {
    check(unit(rng));
    check(log_uniform(rng, 1e-320, 1.0));
    check(1 - log_uniform(rng, 1e-16, 0.5));                        // antipodes
    check(vigil::detail::kAsinSplitSq + (unit(rng) - 0.5) * 1e-2);  // both sides of each split
    check(vigil::detail::kAsinSmallSq + (unit(rng) - 0.5) * 1e-3);
  }
  for (double a : {0.3, std::nextafter(0.3, 1.0), 1.0 / 64, std::nextafter(1.0 / 64, 1.0), 0.25,
                   0.5, 1.0, std::nextafter(1.0, 0.0), 1 - 0x1p-52, 5e-324}) {
    check(a);
  }
  INFO("worst at a = " << m.at);
  CHECK(m.ulp < 1.5);
  CHECK(vigil::detail::asin_sqrt(0.0) == 0.0);
  CHECK(vigil::detail::asin_sqrt(1.0) == kPio2Hi);
  CHECK(std::isnan(vigil::detail::asin_sqrt(kNaN)));
  CHECK(std::isnan(vigil::detail::asin_sqrt(-1.0)));
}

namespace {

constexpr long double kRL = 6371.0088L;

/// The textbook haversine in long double, and its a. The cosines take the latitude in radians
/// rounded to double, as haversine_cos_lat (and libm's formula before it) do: near a pole that
/// rounding alone moves cos(lat) by up to 1e-16 / cos(lat) relative, which is the input's doing.
long double haversine_ref(double lat1, double lon1, double lat2, double lon2, long double* a_out) {
  const long double r = kPiL / 180;
  const double rad = 3.14159265358979323846 / 180.0;
  const long double sa = std::sin((static_cast<long double>(lat2) - lat1) * r / 2);
  const long double so = std::sin((static_cast<long double>(lon2) - lon1) * r / 2);
  const long double c1 = std::cos(static_cast<long double>(lat1 * rad));
  const long double c2 = std::cos(static_cast<long double>(lat2 * rad));
  const long double a = std::min(sa * sa + c1 * c2 * so * so, 1.0L);
  *a_out = a;
  return 2 * kRL * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

/// The formula before trig.h: libm's double sin, cos, asin.
double haversine_libm(double lat1, double lon1, double lat2, double lon2) {
  const double rad = 3.14159265358979323846 / 180.0;
  const double sdlat = std::sin((lat2 - lat1) * rad / 2);
  const double sdlon = std::sin((lon2 - lon1) * rad / 2);
  const double a = sdlat * sdlat + std::cos(lat1 * rad) * std::cos(lat2 * rad) * sdlon * sdlon;
  return 2 * 6371.0088 * std::asin(std::sqrt(a > 1.0 ? 1.0 : a));
}

}  // namespace

TEST_CASE("haversine_km stays within 1e-14 of the textbook formula in long double",
          "[model][trig]") {
  // Relative 1e-14, or 1e-12 km near 0, plus what no double formula can avoid: the rounding of
  // a near 1 (antipodes), where d moves by R·da / sqrt(a (1 - a)), da a few ulp of a, and the
  // rounding of a coordinate difference such as 179.9 - (-179.9) (the dateline), which moves d by
  // up to R·ulp(difference). Where these two terms are below 1e-15·d the pair counts as well
  // conditioned and must also be within 1e-14 of the libm formula (and within 1e-12 km of it below
  // 10 m).
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> lat(-90, 90), lon(-180, 180), unit(0, 1);
  const long double rad = kPiL / 180;
  double worst_rel = 0, worst_abs = 0, worst_libm_rel = 0, worst_libm_abs = 0;
  auto check = [&](double a1, double o1, double a2, double o2) {
    long double a = 0;
    const long double want = haversine_ref(a1, o1, a2, o2, &a);
    const double got = vigil::haversine_km(a1, o1, a2, o2);
    const double libm = haversine_libm(a1, o1, a2, o2);
    const long double err = std::fabs(static_cast<long double>(got) - want);
    const long double antipodal = kRL * 8 * 0x1p-53L * std::sqrt(a / std::max(1 - a, 0x1p-106L));
    const long double input = kRL * rad * 0x1p-52L * (std::fabs(a2 - a1) + std::fabs(o2 - o1));
    INFO(a1 << ", " << o1 << " -> " << a2 << ", " << o2 << ": " << got << " vs "
            << static_cast<double>(want));
    CHECK(err <= 1e-14L * want + 1e-12L + antipodal + input);
    if (want < 1e-2L) {
      worst_abs = std::max(worst_abs, static_cast<double>(err));
      worst_libm_abs = std::max(worst_libm_abs, std::fabs(got - libm));
    } else if (antipodal + input <= 1e-15L * want) {
      worst_rel = std::max(worst_rel, static_cast<double>(err / want));
      worst_libm_rel = std::max(worst_libm_rel, std::fabs(got - libm) / libm);
    }
  };
  for (int i = 0; i < 100000; ++i) {
    const double a1 = lat(rng), o1 = lon(rng);
    check(a1, o1, lat(rng), lon(rng));              // anywhere
    const double d = log_uniform(rng, 1e-12, 1.0);  // near-identical
    check(a1, o1, std::clamp(a1 + (unit(rng) - 0.5) * d, -90.0, 90.0), o1 + (unit(rng) - 0.5) * d);
    const double e = log_uniform(rng, 1e-9, 1.0);  // near the antipode
    check(a1, o1, std::clamp(-a1 + (unit(rng) - 0.5) * e, -90.0, 90.0),
          (o1 > 0 ? o1 - 180 : o1 + 180) + (unit(rng) - 0.5) * e);
    check(90 - log_uniform(rng, 1e-12, 1.0), o1, 90 - log_uniform(rng, 1e-12, 1.0),
          lon(rng));  // pole
    check(a1, 180 - log_uniform(rng, 1e-9, 1.0), lat(rng) * 1e-2 + a1,
          -180 + log_uniform(rng, 1e-9, 1.0));  // dateline
  }
  CHECK(vigil::haversine_km(10, 20, 10, 20) == 0.0);
  CHECK(vigil::haversine_km(-33.5, 151.25, -33.5, 151.25) == 0.0);
  CHECK(vigil::haversine_km(90, 0, -90, 0) == Approx(kPio2Hi * 2 * 6371.0088).epsilon(1e-15));
  CHECK(vigil::haversine_km(0, 0, 0, 180) == Approx(kPio2Hi * 2 * 6371.0088).epsilon(1e-15));
  CHECK(vigil::haversine_km(0, -180, 0, 180) <= 1e-9);
  CHECK(std::isnan(vigil::haversine_km(0, 0, kNaN, 0)));
  CHECK(std::isnan(vigil::haversine_km_cos(0, 0, kNaN, 1, 1, 1)));
  // Garbage coordinates: finite in, finite out (libm's sines past the polynomials' range).
  CHECK(std::isfinite(vigil::haversine_km(1e6, -1e7, 3e5, 720)));
  CHECK(std::isfinite(vigil::haversine_km(0, 0, 0, 1e300)));
  CHECK(std::isnan(vigil::haversine_km(0, 0, 0, kInf)));
  INFO("well conditioned: max relative error " << worst_rel << " (to libm's formula "
                                               << worst_libm_rel << "), below 10 m: " << worst_abs
                                               << " km (to libm's " << worst_libm_abs << " km)");
  CHECK(worst_rel <= 1e-14);
  CHECK(worst_abs <= 1e-12);
  CHECK(worst_libm_rel <= 1e-14);
  CHECK(worst_libm_abs <= 1e-12);
}
