// Run-time choice of the JSON reader's instruction set. Built with baseline flags: it must run
// on any x86-64, and it reads each unit's kTargetFeatures (data) without running its code.
#include <cstdlib>
#include <string_view>

#include "ingest/json_reader.h"
#include "model/cpu.h"

namespace vigil::ingest {

namespace {

std::uint64_t target_features(JsonArch arch) noexcept {
  switch (arch) {
    case JsonArch::kFallback: return fallback::kTargetFeatures;
    case JsonArch::kHaswell: return haswell::kTargetFeatures;
    case JsonArch::kIcelake: return icelake::kTargetFeatures;
  }
  return detail::kCpuUnbuilt;
}

JsonArch best_json_arch() noexcept {
  for (JsonArch a : {JsonArch::kIcelake, JsonArch::kHaswell}) {
    if (json_arch_available(a)) return a;
  }
  return JsonArch::kFallback;
}

}  // namespace

std::string_view json_arch_name(JsonArch arch) noexcept {
  switch (arch) {
    case JsonArch::kFallback: return "fallback";
    case JsonArch::kHaswell: return "haswell";
    case JsonArch::kIcelake: return "icelake";
  }
  return "fallback";
}

bool json_arch_available(JsonArch arch) noexcept {
  // Exactly the extensions the unit was compiled with, not just the headline one.
  return detail::cpu_supports(target_features(arch));
}

JsonArch default_json_arch() noexcept {
  // Read when a reader is made (never per record): like SIMDJSON_FORCE_IMPLEMENTATION, and the
  // same names as the scorer's override.
  const char* forced = std::getenv("VIGIL_FORCE_ARCH");
  if (forced != nullptr) {
    const std::string_view name(forced);
    JsonArch want = JsonArch::kIcelake;
    if (name == "scalar" || name == "sse4.2") {
      want = JsonArch::kFallback;
    } else if (name == "avx2") {
      want = JsonArch::kHaswell;
    }
    // A forced arch this CPU lacks falls back to the best one below it.
    for (JsonArch a : {JsonArch::kIcelake, JsonArch::kHaswell}) {
      if (a <= want && json_arch_available(a)) return a;
    }
    return JsonArch::kFallback;
  }
  return best_json_arch();
}

std::unique_ptr<JsonReader> make_json_reader(JsonArch arch, const KeyTable& keys,
                                             const IngestLimits& limits) {
  if (!json_arch_available(arch)) arch = JsonArch::kFallback;
  switch (arch) {
    case JsonArch::kHaswell: return haswell::make_reader(keys, limits);
    case JsonArch::kIcelake: return icelake::make_reader(keys, limits);
    default: return fallback::make_reader(keys, limits);
  }
}

}  // namespace vigil::ingest
