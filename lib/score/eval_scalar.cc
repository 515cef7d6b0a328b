// The scalar reference evaluator: the same kernel as the SIMD paths with a one-lane policy.
// Built with -fno-tree-vectorize (see sources.cmake) so that it stays the honest scalar
// baseline the benchmarks compare against.
#include "score/eval_impl.h"
#include "score/lanes_scalar.h"

namespace vigil::score {

void eval_scalar(const ProgramView& program, const EvalArgs& args) noexcept {
  Evaluator<ScalarLanes>(program, args).run();
}

void bloom_probe_scalar(const std::uint32_t* blocks, std::uint64_t block_mask,
                        const std::uint64_t* keys, std::uint64_t seed, std::size_t n,
                        std::uint8_t* out) noexcept {
  bloom_probe_impl(blocks, block_mask, keys, seed, n, out);
}

}  // namespace vigil::score
