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

/// Appends `s` as a JSON string literal: in quotes, with '"' and '\\' backslash-escaped and
/// control characters as \u00XX (UTF-8 passes through).
void append_json_string(std::string& out, std::string_view s);

/// Appends `s` as an RFC 4180 CSV field: quoted, with quotes doubled, when it holds a comma, a
/// quote, CR or LF; as it is otherwise.
void append_csv_field(std::string& out, std::string_view s);

/// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view name, std::span<const std::string_view> candidates);

}  // namespace vigil::detail
