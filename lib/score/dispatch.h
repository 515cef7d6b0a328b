// Internal: run-time choice of the instruction set (simdjson-style explicit detection through
// cpuid and xgetbv against the extensions each unit is built with, so that tests can pin any
// arch the CPU runs).
#pragma once

#include "score/program.h"
#include "vigil/score.h"
#include "vigil/status.h"

namespace vigil::score {

using EvalFn = void (*)(const ProgramView&, const EvalArgs&) noexcept;
using BloomFn = void (*)(const std::uint32_t*, std::uint64_t, const std::uint64_t*, std::uint64_t,
                         std::size_t, std::uint8_t*) noexcept;

/// The extensions (cpu_features.h) the unit of `arch` is compiled with; 0 for scalar and for an
/// arch this build lacks.
std::uint64_t target_features(ScoreArch arch) noexcept;
/// True when this build has `arch` and the CPU (and OS) runs every extension its unit uses.
bool arch_available(ScoreArch arch) noexcept;
/// The best available arch.
ScoreArch best_arch() noexcept;
/// kAuto → VIGIL_FORCE_ARCH (read now) or best_arch(); others are checked for availability.
Result<ScoreArch> resolve_arch(ScoreArch requested);
EvalFn eval_function(ScoreArch arch) noexcept;
BloomFn bloom_function(ScoreArch arch) noexcept;

}  // namespace vigil::score
