// The evaluator kernel instantiated for xsimd::sse4_2; built with that arch's flags only (see
// sources.cmake), so nothing here may run before the dispatcher has checked the CPU.
#include "score/bloom_simd.h"
#include "score/cpu_features.h"
#include "score/eval_impl.h"
#include "score/lanes_simd.h"

namespace vigil::score {

// What the dispatcher checks the CPU for before calling into this unit.
const std::uint64_t kTargetFeaturesSse42 = detail::kUnitFeatures;

void eval_sse42(const ProgramView& program, const EvalArgs& args) noexcept {
  Evaluator<SimdLanes<xsimd::sse4_2>>(program, args).run();
}

void bloom_probe_sse42(const std::uint32_t* blocks, std::uint64_t block_mask,
                       const std::uint64_t* keys, std::uint64_t seed, std::size_t n,
                       std::uint8_t* out) noexcept {
  bloom_probe_simd(blocks, block_mask, keys, seed, n, out);
}

}  // namespace vigil::score
