// A small, strict RFC 4180 reader for the gen tests: independent of the writer under test and
// of the library's ingestor, so a round trip checks the quoting rather than agreeing with it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::gen_test {

using CsvRow = std::vector<std::string>;

/// Splits `text` into rows of fields. Quoted fields may hold commas, doubled quotes and line
/// breaks. Returns false on a malformed quote (a quote inside an unquoted field, text after a
/// closing quote, or an unterminated quoted field).
inline bool parse_csv(std::string_view text, std::vector<CsvRow>& rows) {
  rows.clear();
  CsvRow row;
  std::string field;
  std::size_t i = 0;
  bool at_field_start = true;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
  };
  while (i < text.size()) {
    const char c = text[i];
    if (at_field_start && c == '"') {
      ++i;
      for (;;) {
        if (i >= text.size()) return false;
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(text[i++]);
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') return false;
      at_field_start = false;
      continue;
    }
    if (c == ',') {
      end_field();
      at_field_start = true;
    } else if (c == '\n' || c == '\r') {
      end_field();
      rows.push_back(std::move(row));
      row.clear();
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      at_field_start = true;
    } else {
      if (c == '"') return false;
      field.push_back(c);
      at_field_start = false;
    }
    ++i;
  }
  if (!at_field_start || !field.empty() || !row.empty()) {
    end_field();
    rows.push_back(std::move(row));
  }
  return true;
}

}  // namespace vigil::gen_test
