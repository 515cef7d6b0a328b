#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "vigil/train.h"

using namespace vigil;

namespace {

// Deterministic uniform and normal samples (splitmix64 + Box–Muller).
struct Rng {
  std::uint64_t s;
  double uniform() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
  double normal() {
    const double u = uniform() + 1e-300, v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
};

}  // namespace

TEST_CASE("fit_logistic recovers known coefficients", "[train]") {
  Rng rng{42};
  const std::size_t n = 40000, p = 3;
  std::vector<double> x(n * p);
  std::vector<std::uint8_t> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double a = rng.normal(), b = rng.normal(), c = rng.normal();
    x[i * p] = 10 + 5 * a;  // standardisation must undo location and scale
    x[i * p + 1] = b;
    x[i * p + 2] = c;  // no effect
    const double t = -1.0 + 1.5 * a - 0.8 * b;
    y[i] = rng.uniform() < 1 / (1 + std::exp(-t)) ? 1 : 0;
  }
  LogisticFitOptions opts;
  opts.l2 = 0;
  auto fit = fit_logistic(x, p, y, opts);
  REQUIRE(fit.ok());
  CHECK(fit->converged);
  CHECK(fit->bias == Approx(-1.0).margin(0.06));
  CHECK(fit->weights[0] == Approx(1.5).margin(0.07));
  CHECK(fit->weights[1] == Approx(-0.8).margin(0.05));
  CHECK(std::abs(fit->weights[2]) < 0.05);
  CHECK(fit->mean[0] == Approx(10).margin(0.1));
  CHECK(fit->std[0] == Approx(5).margin(0.1));

  // Deterministic: the same rows give the same bits.
  auto again = fit_logistic(x, p, y, opts);
  REQUIRE(again.ok());
  CHECK(again->weights == fit->weights);
  CHECK(again->bias == fit->bias);

  // L2 shrinks the weights toward 0.
  LogisticFitOptions strong;
  strong.l2 = 5000;
  auto shrunk = fit_logistic(x, p, y, strong);
  REQUIRE(shrunk.ok());
  CHECK(std::abs(shrunk->weights[0]) < std::abs(fit->weights[0]));

  // predict() and to_model() agree with the fit.
  const std::vector<double> row = fit->mean;  // every z is 0
  CHECK(fit->predict(row) == Approx(1 / (1 + std::exp(-fit->bias))));
  const std::vector<std::string> names = {"a", "b", "c"};
  const ModelSpec m = fit->to_model(names, 1000);
  CHECK(m.kind == ModelSpec::Kind::kLogistic);
  CHECK(m.terms.size() == 3);
  CHECK(m.terms[0].mean == fit->mean[0]);
}

TEST_CASE("fit_logistic: missing values count as the mean, bad input is refused", "[train]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> x = {1, nan, 3, 4, 5, 6, 7, 8};
  std::vector<std::uint8_t> y = {0, 0, 0, 0, 1, 1, 1, 1};
  auto fit = fit_logistic(x, 1, y);
  REQUIRE(fit.ok());
  CHECK(fit->weights[0] > 0);
  CHECK(fit->predict(std::vector<double>{nan}) == Approx(1 / (1 + std::exp(-fit->bias))));

  CHECK_FALSE(fit_logistic(x, 3, y).ok());
  CHECK_FALSE(fit_logistic({}, 1, {}).ok());
  std::vector<std::uint8_t> one_class(8, 0);
  CHECK_THAT(fit_logistic(x, 1, one_class).status().message(), Catch::Contains("single class"));
}

TEST_CASE("threshold_for_rate", "[train]") {
  std::vector<std::int32_t> scores;
  for (int i = 0; i < 1000; ++i) scores.push_back(i);  // 0..999 once each
  CHECK(threshold_for_rate(scores, 0.01) == 990);      // 990..999: 10 of 1000
  CHECK(threshold_for_rate(scores, 0.10) == 900);
  CHECK(threshold_for_rate(scores, 0.0) == 1000);
  std::vector<std::int32_t> tied(100, 700);
  CHECK(threshold_for_rate(tied, 0.5) == 701);  // all tie at 700: any lower admits 100%
}
