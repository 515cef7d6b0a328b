#include "ingest/csv.h"

#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

namespace {

// The field-by-field split from `p` on, with `fields` holding the fields before p.
std::string_view split_from(const char* p, const char* const end,
                            std::vector<std::string_view>& fields, std::string& scratch,
                            std::size_t max_fields, char delim) {
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

}  // namespace

std::string_view split_csv_general(std::string_view record, std::vector<std::string_view>& fields,
                                   std::string& scratch, std::size_t max_fields, char delim) {
  fields.clear();
  scratch.clear();
  if (scratch.capacity() < record.size()) scratch.reserve(record.size());
  return split_from(record.data(), record.data() + record.size(), fields, scratch, max_fields,
                    delim);
}

std::string_view split_csv(std::string_view record, std::vector<std::string_view>& fields,
                           std::string& scratch, std::size_t max_fields, char delim) {
  fields.clear();
  scratch.clear();
  if (scratch.capacity() < record.size()) scratch.reserve(record.size());
  const char* const begin = record.data();
  const char* const end = begin + record.size();
  // Separators and quotes a register at a time, cut as split_from would cut them one memchr at
  // a time: unquoted fields end at the next separator (a quote inside one is an ordinary byte),
  // a quote opening a field runs to the next quote, which must end the record or precede a
  // separator. Anything else (a doubled quote, bytes after a closing quote, too many fields,
  // an unterminated field) hands the rest, from the current field on, to split_from.
  const char* field = begin;
  const char* open = nullptr;  // the opening quote of the current field, if it is quoted
  enum Step { kGoOn, kHandOver, kDone };
  const auto on_byte = [&](const char* at) -> Step {
    if (at < field) return kGoOn;  // the separator after a closing quote, already consumed
    if (open != nullptr) {
      if (*at != '"') return kGoOn;
      if (at + 1 < end && at[1] == '"') return kHandOver;    // doubled quote: unescaped there
      if (at + 1 < end && at[1] != delim) return kHandOver;  // split_from reports the bytes
      fields.emplace_back(open + 1, static_cast<std::size_t>(at - open - 1));
      if (at + 1 == end) return kDone;
      field = at + 2;
      open = nullptr;
      return kGoOn;
    }
    if (*at == '"') {
      if (at != field) return kGoOn;
      if (fields.size() >= max_fields) return kHandOver;
      open = at;
      return kGoOn;
    }
    if (fields.size() >= max_fields) return kHandOver;
    fields.emplace_back(field, static_cast<std::size_t>(at - field));
    field = at + 1;
    return kGoOn;
  };
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i sep = _mm_set1_epi8(delim);
  const __m128i quote = _mm_set1_epi8('"');
  for (; i + 16 <= record.size(); i += 16) {
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(begin + i));
    auto mask = static_cast<std::uint32_t>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(w, sep), _mm_cmpeq_epi8(w, quote))));
    while (mask != 0) {
      const Step step = on_byte(begin + i + static_cast<std::size_t>(__builtin_ctz(mask)));
      if (step == kDone) return {};
      if (step == kHandOver) return split_from(field, end, fields, scratch, max_fields, delim);
      mask &= mask - 1;
    }
  }
#endif
  for (; i < record.size(); ++i) {
    if (begin[i] != delim && begin[i] != '"') continue;
    const Step step = on_byte(begin + i);
    if (step == kDone) return {};
    if (step == kHandOver) return split_from(field, end, fields, scratch, max_fields, delim);
  }
  // The last field (or an unterminated quoted one, which split_from reports).
  return split_from(field, end, fields, scratch, max_fields, delim);
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
