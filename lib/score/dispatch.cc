// Run-time instruction-set choice. Built with baseline flags: it must run on any x86-64.
#include "score/dispatch.h"

#include "score/cpu_features.h"
#include "score/text.h"

#include <cstdlib>

namespace vigil::score {

#if defined(__x86_64__) || defined(_M_X64)
std::uint64_t target_features(ScoreArch arch) noexcept {
  switch (arch) {
    case ScoreArch::kSse42: return kTargetFeaturesSse42;
    case ScoreArch::kAvx2: return kTargetFeaturesAvx2;
#if VIGIL_SCORE_HAVE_AVX512
    case ScoreArch::kAvx512: return kTargetFeaturesAvx512;
#endif
    default: return 0;
  }
}

bool arch_available(ScoreArch arch) noexcept {
  // Exactly the extensions each unit was compiled with (model/cpu.h), not just the
  // headline one: an AVX-512F CPU without DQ or BW would fault in the AVX-512 kernels.
  switch (arch) {
    case ScoreArch::kScalar:
    case ScoreArch::kAuto: return true;
#if !VIGIL_SCORE_HAVE_AVX512
    case ScoreArch::kAvx512: return false;
#endif
    default: return detail::cpu_supports(target_features(arch));
  }
}
#else
std::uint64_t target_features(ScoreArch) noexcept { return 0; }

bool arch_available(ScoreArch arch) noexcept {
  return arch == ScoreArch::kScalar || arch == ScoreArch::kAuto;
}
#endif

ScoreArch best_arch() noexcept {
  for (ScoreArch a : {ScoreArch::kAvx512, ScoreArch::kAvx2, ScoreArch::kSse42}) {
    if (arch_available(a)) return a;
  }
  return ScoreArch::kScalar;
}

Result<ScoreArch> resolve_arch(ScoreArch requested) {
  ScoreArch arch = requested;
  if (requested == ScoreArch::kAuto) {
    // Read once per compile (never on the hot path): like SIMDJSON_FORCE_IMPLEMENTATION.
    const char* forced = std::getenv("VIGIL_FORCE_ARCH");
    if (forced == nullptr || *forced == '\0') return best_arch();
    auto named = score_arch_from_name(forced);
    if (!named || *named == ScoreArch::kAuto) {
      return Status(
          ErrorCode::kInvalidArgument,
          score::cat("VIGIL_FORCE_ARCH='", forced, "' is not one of scalar, sse4.2, avx2, avx512"));
    }
    arch = *named;
  }
  if (!arch_available(arch)) {
    return Status(ErrorCode::kUnsupported,
                  score::cat("instruction set ", score_arch_name(arch),
                             " is not available on this CPU or in this build"));
  }
  return arch;
}

EvalFn eval_function(ScoreArch arch) noexcept {
  switch (arch) {
#if defined(__x86_64__) || defined(_M_X64)
    case ScoreArch::kSse42: return &eval_sse42;
    case ScoreArch::kAvx2: return &eval_avx2;
#if VIGIL_SCORE_HAVE_AVX512
    case ScoreArch::kAvx512: return &eval_avx512;
#endif
#endif
    default: return &eval_scalar;
  }
}

BloomFn bloom_function(ScoreArch arch) noexcept {
  switch (arch) {
#if defined(__x86_64__) || defined(_M_X64)
    case ScoreArch::kSse42: return &bloom_probe_sse42;
    case ScoreArch::kAvx2: return &bloom_probe_avx2;
#if VIGIL_SCORE_HAVE_AVX512
    case ScoreArch::kAvx512: return &bloom_probe_avx512;
#endif
#endif
    default: return &bloom_probe_scalar;
  }
}

}  // namespace vigil::score

namespace vigil {

std::string_view score_arch_name(ScoreArch arch) noexcept {
  switch (arch) {
    case ScoreArch::kAuto: return "auto";
    case ScoreArch::kScalar: return "scalar";
    case ScoreArch::kSse42: return "sse4.2";
    case ScoreArch::kAvx2: return "avx2";
    case ScoreArch::kAvx512: return "avx512";
  }
  return "?";
}

std::optional<ScoreArch> score_arch_from_name(std::string_view name) noexcept {
  for (ScoreArch a : {ScoreArch::kAuto, ScoreArch::kScalar, ScoreArch::kSse42, ScoreArch::kAvx2,
                      ScoreArch::kAvx512}) {
    if (score_arch_name(a) == name) return a;
  }
  return std::nullopt;
}

std::vector<ScoreArch> available_score_archs() {
  std::vector<ScoreArch> out;
  for (ScoreArch a :
       {ScoreArch::kScalar, ScoreArch::kSse42, ScoreArch::kAvx2, ScoreArch::kAvx512}) {
    if (score::arch_available(a)) out.push_back(a);
  }
  return out;
}

}  // namespace vigil
