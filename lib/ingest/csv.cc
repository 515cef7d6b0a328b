#include "ingest/csv.h"

#include <cstring>

namespace vigil::ingest {

const char* CsvFramer::scan(const char* p, const char* end) noexcept {
  // Fast path: outside a quoted field, a line without quotes ends at its newline whatever the
  // state, and memchr runs at SIMD speed.
  if (state_ != kQuoted) {
    const auto* nl =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (nl != nullptr) {
      const auto* q =
          static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(nl - p)));
      if (q == nullptr) {
        state_ = kFieldStart;
        return nl;
      }
      // Quotes, but maybe only well-formed quoted fields on this line (Sparkov merchant and job
      // names): hop from quote to quote instead of walking every byte. Anything unusual (a
      // quote not at a field start, a field still open at the newline) takes the exact path.
      if (state_ == kFieldStart) {
        bool open = false;
        for (; q != nullptr; q = static_cast<const char*>(
                                 std::memchr(q + 1, '"', static_cast<std::size_t>(nl - q - 1)))) {
          if (!open) {
            if (q != p && q[-1] != delim_) break;
            open = true;
          } else if (q + 1 < nl && q[1] == '"') {
            ++q;  // an escaped quote
          } else {
            open = false;
          }
        }
        if (q == nullptr && !open) return nl;
      }
    }
  }
  for (; p < end; ++p) {
    const char c = *p;
    switch (state_) {
      case kFieldStart:
        if (c == '"') {
          state_ = kQuoted;
        } else if (c == '\n') {
          return p;
        } else if (c != delim_) {
          state_ = kUnquoted;
        }
        break;
      case kUnquoted:
        if (c == delim_) {
          state_ = kFieldStart;
        } else if (c == '\n') {
          state_ = kFieldStart;
          return p;
        }
        break;
      case kQuoted: {
        // Jump to the next quote, counting the newlines inside the field on the way.
        const auto* q =
            static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
        const char* stop = q != nullptr ? q : end;
        for (const char* s = p; s < stop; ++s) newlines_ += *s == '\n';
        if (q == nullptr) return nullptr;
        p = q;
        state_ = kQuoteInQuoted;
        break;
      }
      case kQuoteInQuoted:
        if (c == '"') {
          state_ = kQuoted;  // an escaped quote
        } else if (c == delim_) {
          state_ = kFieldStart;
        } else if (c == '\n') {
          state_ = kFieldStart;
          return p;
        } else {
          state_ = kUnquoted;  // garbage after a closing quote: split_csv reports it
        }
        break;
    }
  }
  return nullptr;
}

std::string_view split_csv(std::string_view record, std::vector<std::string_view>& fields,
                           std::string& scratch, std::size_t max_fields, char delim) {
  fields.clear();
  scratch.clear();
  if (scratch.capacity() < record.size()) scratch.reserve(record.size());
  const char* p = record.data();
  const char* const end = p + record.size();
  while (true) {
    if (fields.size() >= max_fields) return "too many fields";
    if (p < end && *p == '"') {
      const char* s = p + 1;
      const auto* q =
          static_cast<const char*>(std::memchr(s, '"', static_cast<std::size_t>(end - s)));
      if (q == nullptr) {
        fields.emplace_back();
        return "unterminated quoted field";
      }
      if (q + 1 < end && q[1] == '"') {
        // Doubled quotes: unescape into scratch (rare: only fields that contain quotes).
        const std::size_t begin = scratch.size();
        while (true) {
          scratch.append(s, static_cast<std::size_t>(q - s));
          if (q + 1 < end && q[1] == '"') {
            scratch.push_back('"');
            s = q + 2;
            q = static_cast<const char*>(std::memchr(s, '"', static_cast<std::size_t>(end - s)));
            if (q == nullptr) {
              fields.emplace_back();
              return "unterminated quoted field";
            }
            continue;
          }
          break;
        }
        fields.emplace_back(scratch.data() + begin, scratch.size() - begin);
      } else {
        fields.emplace_back(s, static_cast<std::size_t>(q - s));
      }
      p = q + 1;
      if (p == end) return {};
      if (*p != delim) return "unexpected character after a closing quote";
      ++p;
      continue;
    }
    const auto* comma =
        static_cast<const char*>(std::memchr(p, delim, static_cast<std::size_t>(end - p)));
    if (comma == nullptr) {
      fields.emplace_back(p, static_cast<std::size_t>(end - p));
      return {};
    }
    fields.emplace_back(p, static_cast<std::size_t>(comma - p));
    p = comma + 1;
  }
}

char detect_csv_delimiter(std::string_view header) noexcept {
  bool quoted = false;
  bool seen[4] = {};
  constexpr char kCandidates[4] = {',', '|', '\t', ';'};
  for (const char c : header) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    for (std::size_t i = 0; i < 4; ++i) seen[i] = seen[i] || c == kCandidates[i];
  }
  for (std::size_t i = 0; i < 4; ++i) {
    if (seen[i]) return kCandidates[i];
  }
  return ',';
}

}  // namespace vigil::ingest
