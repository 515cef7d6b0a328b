// The evaluator kernel instantiated for xsimd::avx512f; built with that arch's flags only (see
// sources.cmake), so nothing here may run before the dispatcher has checked the CPU.
// GCC 12 reports the deliberately undefined source of _mm512_srli_epi64 (xsimd's 64-bit shift)
// as "may be used uninitialized"; the value is never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "score/bloom_simd.h"
#include "score/cpu_features.h"
#include "score/eval_impl.h"
#include "score/lanes_simd.h"

namespace vigil::score {

// What the dispatcher checks the CPU for before calling into this unit.
const std::uint64_t kTargetFeaturesAvx512 = detail::kUnitFeatures;

void eval_avx512(const ProgramView& program, const EvalArgs& args) noexcept {
  Evaluator<SimdLanes<xsimd::avx512f>>(program, args).run();
}

void bloom_probe_avx512(const std::uint32_t* blocks, std::uint64_t block_mask,
                        const std::uint64_t* keys, std::uint64_t seed, std::size_t n,
                        std::uint8_t* out) noexcept {
  bloom_probe_simd(blocks, block_mask, keys, seed, n, out);
}

}  // namespace vigil::score
