#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "vigil/train.h"

namespace vigil {
namespace {

double sigmoid(double t) {
  return t >= 0 ? 1 / (1 + std::exp(-t)) : std::exp(t) / (1 + std::exp(t));
}

// Solves A x = b for a symmetric positive definite A (n×n, row-major) by Cholesky; false if A is
// not positive definite (cannot happen with l2 > 0, but the data decides, not us).
bool cholesky_solve(std::vector<double> a, std::vector<double> b, std::size_t n,
                    std::vector<double>& x) {
  for (std::size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {  // L y = b
    double s = b[i];
    for (std::size_t k = 0; k < i; ++k) s -= a[i * n + k] * b[k];
    b[i] = s / a[i * n + i];
  }
  x.assign(n, 0);
  for (std::size_t i = n; i-- > 0;) {  // Lᵀ x = y
    double s = b[i];
    for (std::size_t k = i + 1; k < n; ++k) s -= a[k * n + i] * x[k];
    x[i] = s / a[i * n + i];
  }
  return true;
}

}  // namespace

Result<LogisticFit> fit_logistic(std::span<const double> x, std::size_t p,
                                 std::span<const std::uint8_t> y,
                                 const LogisticFitOptions& options) {
  if (p == 0 || x.size() % p != 0 || x.size() / p != y.size()) {
    return Status(ErrorCode::kInvalidArgument,
                  absl::StrFormat("fit_logistic: %u values do not make %u rows of %u features",
                                  x.size(), y.size(), p));
  }
  const std::size_t n = y.size();
  if (n == 0) return Status(ErrorCode::kInvalidArgument, "fit_logistic: no rows");
  std::size_t positives = 0;
  for (const std::uint8_t v : y) positives += v != 0;
  if (positives == 0 || positives == n) {
    return Status(ErrorCode::kInvalidArgument,
                  "fit_logistic: the labels hold a single class; need fraud and legitimate rows");
  }
  if (!(options.l2 >= 0))
    return Status(ErrorCode::kInvalidArgument, "fit_logistic: l2 must be >= 0");

  LogisticFit fit;
  fit.mean.assign(p, 0);
  fit.std.assign(p, 1);
  for (std::size_t j = 0; j < p; ++j) {
    double sum = 0, sq = 0;
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x[i * p + j];
      if (std::isnan(v)) continue;
      sum += v;
      ++count;
    }
    if (count == 0) continue;
    const double mean = sum / static_cast<double>(count);
    for (std::size_t i = 0; i < n; ++i) {
      const double v = x[i * p + j];
      if (!std::isnan(v)) sq += (v - mean) * (v - mean);
    }
    const double sd = std::sqrt(sq / static_cast<double>(count));
    fit.mean[j] = mean;
    fit.std[j] = sd > 1e-12 && std::isfinite(sd) ? sd : 1;
  }
  // Standardised design with a leading 1 for the bias; constant features get z = 0.
  const std::size_t q = p + 1;
  std::vector<double> z(n * q);
  for (std::size_t i = 0; i < n; ++i) {
    z[i * q] = 1;
    for (std::size_t j = 0; j < p; ++j) {
      const double v = x[i * p + j];
      double zz = std::isnan(v) || !std::isfinite(v) ? 0 : (v - fit.mean[j]) / fit.std[j];
      z[i * q + 1 + j] = std::clamp(zz, -50.0, 50.0);  // keep wild outliers from dominating a step
    }
  }
  std::vector<double> beta(q, 0);
  beta[0] = std::log(static_cast<double>(positives) / static_cast<double>(n - positives));
  // Penalised mean negative log-likelihood: log(1 + e^t) − y t, computed without overflow.
  auto objective = [&](const std::vector<double>& b) {
    double f = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double t = 0;
      for (std::size_t j = 0; j < q; ++j) t += b[j] * z[i * q + j];
      f += (t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t))) - (y[i] ? t : 0);
    }
    double penalty = 0;
    for (std::size_t j = 1; j < q; ++j) penalty += b[j] * b[j];
    return f + 0.5 * options.l2 * penalty;
  };
  double current = objective(beta);
  std::vector<double> h(q * q), g(q), step, trial(q);
  for (int it = 1; it <= options.max_iterations; ++it) {
    std::fill(h.begin(), h.end(), 0);
    std::fill(g.begin(), g.end(), 0);
    for (std::size_t i = 0; i < n; ++i) {
      const double* zi = &z[i * q];
      double t = 0;
      for (std::size_t j = 0; j < q; ++j) t += beta[j] * zi[j];
      const double pr = sigmoid(t);
      const double w = std::max(pr * (1 - pr), 1e-12);
      const double r = pr - (y[i] ? 1.0 : 0.0);
      for (std::size_t j = 0; j < q; ++j) {
        g[j] += r * zi[j];
        const double wz = w * zi[j];
        for (std::size_t k = 0; k <= j; ++k) h[j * q + k] += wz * zi[k];
      }
    }
    for (std::size_t j = 0; j < q; ++j) {
      for (std::size_t k = 0; k < j; ++k) h[k * q + j] = h[j * q + k];
    }
    for (std::size_t j = 1; j < q; ++j) {
      h[j * q + j] += options.l2;
      g[j] += options.l2 * beta[j];
    }
    h[0] += 1e-9;  // the bias is unpenalised; a hair of ridge keeps H definite on separable data
    if (!cholesky_solve(h, g, q, step)) {
      return Status(ErrorCode::kInvalidArgument,
                    "fit_logistic: singular Hessian (use a larger l2)");
    }
    // Damped Newton: halve the step until the objective does not increase. A full step can
    // overshoot badly where the data nearly separates (rare, extreme rows).
    double scale = 1, next = current;
    for (int halvings = 0; halvings < 40; ++halvings, scale /= 2) {
      for (std::size_t j = 0; j < q; ++j) trial[j] = beta[j] - scale * step[j];
      next = objective(trial);
      if (next <= current) break;
    }
    double biggest = 0;
    for (std::size_t j = 0; j < q; ++j) biggest = std::max(biggest, std::abs(trial[j] - beta[j]));
    fit.iterations = it;
    if (!(next <= current)) {  // no decrease at any step size: at the optimum to rounding
      fit.converged = true;
      break;
    }
    beta = trial;
    const double improvement = current - next;
    current = next;
    if (biggest < options.tolerance || improvement <= 1e-12 * std::max(1.0, std::abs(current))) {
      fit.converged = true;
      break;
    }
  }
  double loss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double t = 0;
    for (std::size_t j = 0; j < q; ++j) t += beta[j] * z[i * q + j];
    // log(1 + e^t) − y t, computed without overflow.
    loss += (t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t))) - (y[i] ? t : 0);
  }
  fit.log_loss = loss / static_cast<double>(n);
  fit.bias = beta[0];
  fit.weights.assign(beta.begin() + 1, beta.end());
  return fit;
}

ModelSpec LogisticFit::to_model(std::span<const std::string> names, double scale) const {
  ModelSpec m;
  m.kind = ModelSpec::Kind::kLogistic;
  m.bias = bias;
  m.scale = scale;
  for (std::size_t j = 0; j < weights.size() && j < names.size(); ++j) {
    if (weights[j] == 0) continue;
    m.terms.push_back({names[j], weights[j], mean[j], std[j]});
  }
  return m;
}

double LogisticFit::predict(std::span<const double> row) const {
  double t = bias;
  for (std::size_t j = 0; j < weights.size() && j < row.size(); ++j) {
    if (std::isnan(row[j])) continue;
    t += weights[j] * std::clamp((row[j] - mean[j]) / std[j], -50.0, 50.0);
  }
  return sigmoid(t);
}

std::int32_t threshold_for_rate(std::span<const std::int32_t> scores, double rate) {
  std::vector<std::uint64_t> hist(1002, 0);
  for (const std::int32_t s : scores) ++hist[static_cast<std::size_t>(std::clamp(s, 0, 1000))];
  const double allowed = rate * static_cast<double>(scores.size());
  std::uint64_t at_or_above = 0;
  // Walk down from the top; stop before the share would exceed the rate.
  for (std::int32_t t = 1000; t >= 1; --t) {
    if (static_cast<double>(at_or_above + hist[static_cast<std::size_t>(t)]) > allowed)
      return std::min(t + 1, 1000);
    at_or_above += hist[static_cast<std::size_t>(t)];
  }
  return 1;
}

}  // namespace vigil
