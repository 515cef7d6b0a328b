// The evaluator kernel instantiated for xsimd::avx2; built with that arch's flags only (see
// sources.cmake), so nothing here may run before the dispatcher has checked the CPU.
#include "score/bloom_simd.h"
#include "score/eval_impl.h"
#include "score/lanes_simd.h"

namespace vigil::score {

void eval_avx2(const ProgramView& program, const EvalArgs& args) noexcept {
  Evaluator<SimdLanes<xsimd::avx2>>(program, args).run();
}

void bloom_probe_avx2(const std::uint32_t* blocks, std::uint64_t block_mask,
                      const std::uint64_t* hashes, std::size_t n, std::uint8_t* out) noexcept {
  bloom_probe_simd(blocks, block_mask, hashes, n, out);
}

}  // namespace vigil::score
