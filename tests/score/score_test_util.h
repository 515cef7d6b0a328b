// Shared helpers of the score tests: the built-in feature names and config builders.
#pragma once

#include "vigil/features.h"

#include <string>
#include <vector>

#include "vigil/config.h"
#include "vigil/model.h"

namespace vigil::score_test {

/// The feature store's column order: built-ins first, then declared features.
inline std::vector<std::string> feature_names(std::vector<std::string> declared = {}) {
  std::vector<std::string> names(vigil::builtin_feature_names().begin(),
                                 vigil::builtin_feature_names().end());
  names.insert(names.end(), declared.begin(), declared.end());
  return names;
}

inline RuleSpec rule(std::string id, std::string when, double score, std::string reason = "",
                     std::uint32_t line = 0, std::uint32_t column = 0) {
  RuleSpec r;
  r.id = std::move(id);
  r.when = std::move(when);
  r.score = score;
  r.reason = reason.empty() ? r.id : std::move(reason);
  r.line = line;
  r.column = column;
  return r;
}

}  // namespace vigil::score_test
