// File: vigil/train.h
//
// Fitting the scorer's logistic model from labelled transactions — what `vigil train` runs.
// L2-regularised logistic regression solved by Newton's method (IRLS) on standardised
// features: deterministic (no random initialisation, no data shuffling; the same rows in the
// same order give the same weights bit for bit) and fast for the handful of features a fraud
// model has (each iteration is one pass over the rows plus a p×p Cholesky solve).
//
// **Example**
//   vigil::LogisticFitOptions opts;
//   opts.l2 = 1.0;
//   auto fit = vigil::fit_logistic(rows, names.size(), labels, opts);
//   if (fit.ok()) config.model = fit->to_model(names, /*scale=*/1000);
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vigil/config.h"
#include "vigil/status.h"

namespace vigil {

/// Knobs of fit_logistic.
struct LogisticFitOptions {
  double l2 = 1.0;          ///< L2 penalty on the weights of standardised features (not the bias)
  int max_iterations = 50;  ///< Newton steps at most
  double tolerance = 1e-9;  ///< stop when the largest change of a coefficient is below this
};

/// A fitted model over standardised features z_j = (x_j − mean_j) / std_j (a missing x_j, NaN,
/// gives z_j = 0, as the scorer does).
struct LogisticFit {
  double bias = 0;
  std::vector<double> weights;  ///< per feature, on the standardised scale
  std::vector<double> mean;
  std::vector<double> std;  ///< 1 for a constant feature (whose weight is then 0)
  int iterations = 0;
  bool converged = false;
  double log_loss = 0;  ///< mean negative log-likelihood on the fitted rows

  /// The model as a config section: kind logistic, terms with their standardisation. Terms with
  /// a zero weight are left out.
  ModelSpec to_model(std::span<const std::string> feature_names, double scale) const;
  /// P(fraud) of one row of raw features.
  double predict(std::span<const double> row) const;
};

/// Fits P(y = 1 | x) = sigmoid(bias + Σ w_j z_j). `x` is row-major, rows × `features` values
/// (NaN = missing); `y` holds 0 / 1 per row. Errors: shape mismatch, no rows, a single class.
Result<LogisticFit> fit_logistic(std::span<const double> x, std::size_t features,
                                 std::span<const std::uint8_t> y,
                                 const LogisticFitOptions& options = {});

/// The smallest integer score threshold T such that the share of `scores` >= T is at most
/// `rate` (scores are 0..1000). Used to place review / decline thresholds at a target alert rate.
std::int32_t threshold_for_rate(std::span<const std::int32_t> scores, double rate);

}  // namespace vigil
