// Internal: small text helpers shared by the config reader and the rule compiler.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace vigil::detail {

/// Levenshtein distance (insert, delete, substitute all cost 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `name` when it is plausibly a typo of it (at most one edit per three
/// characters of the name, and at least one), else "". Ties go to the earlier candidate, so
/// callers pass candidates in a stable order.
std::string_view closest_match(std::string_view name, std::span<const std::string_view> candidates);

/// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view name, std::span<const std::string_view> candidates);

}  // namespace vigil::detail
