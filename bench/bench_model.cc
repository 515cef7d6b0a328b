#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "vigil/model.h"

// Dictionary lookups happen for every string field of every ingested record.
static void BM_Model_DictionaryIntern(benchmark::State& state) {
  vigil::Dictionary dict;
  std::vector<std::string> words;
  for (int i = 0; i < 800; ++i) words.push_back("fraud_Merchant_" + std::to_string(i));
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dict.intern(words[i++ % words.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Model_DictionaryIntern);

namespace {

/// 4096 coordinate pairs. Local (arg 0): a home in the contiguous US and a merchant within a
/// degree of it, as the generator draws them (lib/gen: near_lat ± 1, near_lon ± 1), the
/// feature store's case. Global (arg 1): both points uniform in lat/lon, so far pairs,
/// antipodes and the slow paths of the kernels (sines past pi/4, asin past a = 1/64) are common.
struct Pairs {
  std::vector<double> lat1, lon1, lat2, lon2;
};

std::array<Pairs, 2> make_haversine_pairs() {
  std::array<Pairs, 2> out;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> us_lat(25, 49), us_lon(-124, -67), near(-1, 1),
      lat(-90, 90), lon(-180, 180);
  for (int i = 0; i < 4096; ++i) {
    const double a = us_lat(rng), o = us_lon(rng);
    out[0].lat1.push_back(a);
    out[0].lon1.push_back(o);
    out[0].lat2.push_back(a + near(rng));
    out[0].lon2.push_back(o + near(rng));
    out[1].lat1.push_back(lat(rng));
    out[1].lon1.push_back(lon(rng));
    out[1].lat2.push_back(lat(rng));
    out[1].lon2.push_back(lon(rng));
  }
  return out;
}

const Pairs& haversine_pairs(bool global) {
  static const std::array<Pairs, 2> pairs = make_haversine_pairs();
  return pairs[global ? 1 : 0];
}

/// The formula before lib/model/trig.h: libm's sin, cos and asin (called out of line like the
/// library's haversine_km).
[[gnu::noinline]] double haversine_km_libm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  if (std::isnan(lat1) || std::isnan(lon1) || std::isnan(lat2) || std::isnan(lon2)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double sdlat = std::sin((lat2 - lat1) * kRad / 2);
  const double sdlon = std::sin((lon2 - lon1) * kRad / 2);
  const double a = sdlat * sdlat + std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * sdlon * sdlon;
  return 2 * 6371.0088 * std::asin(std::sqrt(a > 1.0 ? 1.0 : a));
}

template <double (*Haversine)(double, double, double, double)>
void run_haversine(benchmark::State& state) {
  const Pairs& p = haversine_pairs(state.range(0) != 0);
  const std::size_t n = p.lat1.size();
  for (auto _ : state) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i)
      sum += Haversine(p.lat1[i], p.lon1[i], p.lat2[i], p.lon2[i]);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

}  // namespace

// haversine_km per pair (two cosines, two sines, one asin), with libm and with vigil's kernels.
static void BM_Haversine_Libm(benchmark::State& state) { run_haversine<haversine_km_libm>(state); }
BENCHMARK(BM_Haversine_Libm)->Arg(0)->Arg(1);
static void BM_Haversine(benchmark::State& state) { run_haversine<vigil::haversine_km>(state); }
BENCHMARK(BM_Haversine)->Arg(0)->Arg(1);
