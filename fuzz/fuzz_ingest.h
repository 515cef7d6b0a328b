// Shared body of the ingest fuzz targets: the input must never crash the ingestor (ASan/UBSan
// watch), and feeding it whole or cut at data-derived points must give identical deliveries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/log_sink.h"
#include "vigil/ingest.h"

namespace vigil::fuzz {

inline std::string ingest_log(std::string_view input, Format format, std::size_t split,
                              std::size_t step) {
  Dictionary dict;
  testing::LogSink sink(dict);
  IngestOptions options;
  options.format = format;
  options.batch_capacity = 16;
  options.limits.max_record_bytes = 2048;  // small, so the too-large paths get exercised
  options.limits.max_string_bytes = 64;
  options.limits.max_fields = 48;
  auto ing = Ingestor::create(options, dict, sink);
  if (!ing.ok()) __builtin_trap();
  // Cut at `split`, then feed the rest in pieces of `step` bytes (step 0: the rest whole).
  if (!ing->feed(input.substr(0, split)).ok()) __builtin_trap();
  for (std::size_t p = split; p < input.size();) {
    const std::size_t n = step == 0 ? input.size() - p : std::min(step, input.size() - p);
    if (!ing->feed(input.substr(p, n)).ok()) __builtin_trap();
    p += n;
  }
  if (!ing->finish().ok()) __builtin_trap();
  return sink.text() + testing::stats_text(ing->stats());
}

inline int fuzz_one(Format format, const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string whole = ingest_log(input, format, size, 0);
  if (size == 0) return 0;
  const std::size_t split = (data[0] * 257u + data[size - 1]) % (size + 1);
  const std::size_t step = data[size / 2] % 13 + 1;
  if (ingest_log(input, format, split, 0) != whole) __builtin_trap();
  if (ingest_log(input, format, split, step) != whole) __builtin_trap();
  return 0;
}

}  // namespace vigil::fuzz
