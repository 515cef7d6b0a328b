// Internal: the flat program a rule set compiles to, and the interface of its evaluators.
//
// A program is a straight-line list of instructions over two kinds of registers, both one
// chunk of kChunk rows wide: numeric registers (kChunk doubles) and mask registers (kChunk
// bits, packed in 64-bit words so that &&, || and ! cost one instruction per 64 rows).
// Feature columns and constants are operands, not instructions. The evaluator walks the rows
// chunk by chunk and runs the whole program on each chunk, so the working set (a few
// registers of 4 KiB) stays in L1 while instruction dispatch is paid once per 512 rows.
//
// Everything here is plain data (no std containers in the evaluator's view) because the
// evaluator is compiled once per instruction set with different flags: sharing inline
// functions of std containers between those translation units would let the linker pick an
// AVX-512 copy for baseline code.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vigil::score {

/// Rows per chunk: a multiple of 64 (mask words) and of every SIMD width.
inline constexpr std::size_t kChunk = 512;
inline constexpr std::size_t kChunkWords = kChunk / 64;

enum class Op : std::uint8_t {
  // numeric × numeric → numeric
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMin,  // NaN if either is NaN
  kMax,
  // model score: lin × scale → scale · sigmoid(lin) / scale · clamp(lin, 0, 1); NaN → 0
  kSigmoidScale,
  kLinearScale,
  // numeric → numeric
  kNeg,
  kAbs,
  kLog1p,
  kNanToZero,
  // numeric → numeric: nan_to_zero((a − c) · b) with b, c constants (c absent: a · b), one
  // model term's contribution in one pass (the sub, mul and nan_to_zero it fuses)
  kScaleNz,
  // mask → numeric (1 where set, 0 elsewhere)
  kMaskToNum,
  // numeric × numeric → mask (every comparison with NaN is false, != included)
  kLt,
  kLe,
  kGt,
  kGe,
  kEq,
  kNe,
  // mask × mask → mask
  kAnd,
  kOr,
  kAndNot,  // a && !b
  // mask → mask
  kNot,
  // leaves → mask
  kStrEq,       // string column `field` == id
  kStrIn,       // string column `field` in ids[aux .. aux + count)
  kStrEqField,  // string column `field` == string column `field2`
  kFlagged,     // flag hits of key field `field`
  kMaskConst,   // all ones (imm != 0) or all zeros
  // sinks
  kRulesOut,  // rule r ← mask register ids[aux + r], r < count (all rules in one step)
  kModelOut,  // model score ← numeric a
  kTermOut,   // model term `aux` (its raw value) ← numeric a
  kTop2Out,   // the two largest |c_t| of operands[aux .. aux + count) → top_out (see EvalArgs)
  // The whole model in one pass, kept in registers: for the count terms t, operands
  // [aux + 3t, aux + 3t + 3) = (x_t, k_t, mean_t) (x_t a column, a numeric register or a mask
  // register read as 1 / 0 (Src::kMask), k_t and mean_t constants, mean_t +0.0 when the term
  // has none, an identity), c_t = nan_to_zero((x_t − mean_t) · k_t); lin = a.imm + c_0 + … in
  // term order; model score ← fop(lin, b.imm) with fop kSigmoidScale or kLinearScale; top_out
  // ← the two largest |c_t|. The same IEEE operations, in the same order, as kMaskToNum /
  // kScaleNz / kAdd / fop / kModelOut / kTop2Out (a mask term's two possible c_t are computed
  // once per chunk, with those operations, and picked per row).
  kModel,
};

/// Most terms kModel takes (its per-term pointers and constants live on the stack); larger
/// models compile to the general instructions.
inline constexpr std::uint32_t kMaxModelTerms = 64;

/// kTop2Out's reason code of model term t is kTermReasonBase + t (== vigil::kModelReasonBase).
inline constexpr std::uint32_t kTermReasonBase = 0x8000;

/// No mask register (Instr::mask).
inline constexpr std::uint32_t kNoMask = 0xFFFFFFFFU;

/// Where a numeric operand lives. kMask (kModel terms only): a mask register, read as 1.0
/// where its bit is set and 0.0 elsewhere (what kMaskToNum would have stored).
enum class Src : std::uint8_t { kNone, kFeature, kConst, kReg, kMask };

struct Operand {
  Src src = Src::kNone;
  std::uint32_t index = 0;  // feature column or register
  double imm = 0;           // constant value
};

struct Instr {
  Op op = Op::kAdd;
  std::uint8_t field = 0;  // vigil::Field of string / flag ops
  std::uint8_t field2 = 0;
  // Comparisons: when set, the right operand is fop(b, c), an arithmetic node with no other
  // reader computed in registers where the comparison reads it (never stored).
  bool fused = false;
  Op fop = Op::kAdd;
  std::uint32_t dst = 0;         // destination register (numeric or mask by op)
  Operand a, b;                  // numeric operands, or mask registers in a.index / b.index
  Operand c;                     // fused: fop's second operand; kScaleNz: the mean
  std::uint32_t aux = 0;         // rule index, string id, or offset into ids
  std::uint32_t count = 0;       // number of ids for kStrIn
  std::uint32_t mask = kNoMask;  // comparisons: mask register the result is ANDed with
  // Comparisons: when > 1, this instruction and the next group − 1 form a threshold ladder
  // (same op, left operand, mask and right shape, differing only by a constant) evaluated in
  // one pass that reads the columns once; each still writes its own destination.
  std::uint8_t group = 0;
};

/// Most comparisons one ladder (Instr::group) holds.
inline constexpr std::uint32_t kMaxGroup = 8;

/// The evaluator's view of a compiled program.
struct ProgramView {
  const Instr* code = nullptr;
  std::size_t size = 0;
  const std::uint32_t* ids = nullptr;  // string id lists of kStrIn, register lists
  const Operand* operands = nullptr;   // operand lists of kTop2Out
  std::size_t num_regs = 0;
  std::size_t mask_regs = 0;
  std::size_t rules = 0;
};

/// The data one evaluation reads and writes.
struct EvalArgs {
  std::size_t rows = 0;                               // rows to evaluate
  const double* const* features = nullptr;            // column pointers, 64-byte aligned and padded
  const std::uint32_t* const* str_columns = nullptr;  // per Field: StrId column or null
  const char* gender = nullptr;                       // the gender column (chars)
  const std::uint64_t* const* flag_bits = nullptr;    // per Field: batch-wide hit bits or null
  std::uint64_t* rule_bits = nullptr;                 // rules × words_per_rule, batch-wide
  std::size_t words_per_rule = 0;
  double* model_out = nullptr;  // rows doubles (64-byte aligned, padded to kChunk)
  double* term_out = nullptr;   // terms × term_stride doubles (kTermOut), or null
  std::size_t term_stride = 0;  // a multiple of kChunk
  // kTop2Out: top_out[i] and top_out[term_stride + i] are row i's strongest and second
  // strongest model terms by |w · z| (as kModelReasonBase + t), or -1 (none, or |w · z| = 0).
  double* top_out = nullptr;
  // When set, after each chunk: the decision of each row as if it fired no rule (the model's
  // part alone), packed for the scorer's last pass as the low 52 bits of a double,
  //   score | reason_count << 10 | reasons[0] << 12 | reasons[1] << 28
  // (exact integers plus 2^52). model_out / top_out are read when plain_model / plain_top.
  double* plain_out = nullptr;  // rows doubles (64-byte aligned, padded to kChunk)
  bool plain_model = false;
  bool plain_top = false;
  double* num_regs = nullptr;          // num_regs × kChunk, 64-byte aligned
  std::uint64_t* mask_regs = nullptr;  // mask_regs × kChunkWords
};

// One evaluator per instruction set; each lives in its own translation unit.
void eval_scalar(const ProgramView& program, const EvalArgs& args) noexcept;
void eval_sse42(const ProgramView& program, const EvalArgs& args) noexcept;
void eval_avx2(const ProgramView& program, const EvalArgs& args) noexcept;
void eval_avx512(const ProgramView& program, const EvalArgs& args) noexcept;

/// Split-block Bloom filter (as in Parquet / Impala): a key's 32-bit hash picks one bit in each
/// of the 8 words of its 32-byte block.
inline constexpr std::uint32_t kBloomSalt[8] = {0x47b6137bU, 0x44974d91U, 0x8824ad5bU, 0xa2b7289dU,
                                                0x705495c7U, 0x2df1424bU, 0x9efc4947U, 0x5c6bfb31U};

/// Blocked Bloom filter probe: for each of n keys of one field, hashed with the field's seed
/// (flag_hash.h), out[i] = 1 when all 8 bits of its block pattern are set (may be a false
/// positive), else 0. Vectorized per instruction set, hashing included.
void bloom_probe_scalar(const std::uint32_t* blocks, std::uint64_t block_mask,
                        const std::uint64_t* keys, std::uint64_t seed, std::size_t n,
                        std::uint8_t* out) noexcept;
void bloom_probe_sse42(const std::uint32_t* blocks, std::uint64_t block_mask,
                       const std::uint64_t* keys, std::uint64_t seed, std::size_t n,
                       std::uint8_t* out) noexcept;
void bloom_probe_avx2(const std::uint32_t* blocks, std::uint64_t block_mask,
                      const std::uint64_t* keys, std::uint64_t seed, std::size_t n,
                      std::uint8_t* out) noexcept;
void bloom_probe_avx512(const std::uint32_t* blocks, std::uint64_t block_mask,
                        const std::uint64_t* keys, std::uint64_t seed, std::size_t n,
                        std::uint8_t* out) noexcept;

/// The scalar semantics every evaluator must match bit for bit (also used for folding).
double apply_numeric(Op op, double a, double b) noexcept;
bool apply_compare(Op op, double a, double b) noexcept;

}  // namespace vigil::score
