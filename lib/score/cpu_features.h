// Internal: the score side of model/cpu.h. Each eval_<arch>.cc exports its unit's
// detail::kUnitFeatures as kTargetFeatures<Arch> (data), which the dispatcher checks against
// detail::cpu_features() before calling into that unit.
#pragma once

#include <cstdint>

#include "model/cpu.h"

namespace vigil::score {

using detail::cpu_features;
using enum detail::CpuFeature;

/// kUnitFeatures of each per-arch unit (defined in eval_<arch>.cc).
extern const std::uint64_t kTargetFeaturesSse42;
extern const std::uint64_t kTargetFeaturesAvx2;
extern const std::uint64_t kTargetFeaturesAvx512;

}  // namespace vigil::score
