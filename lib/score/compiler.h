// Internal: lowers typed rule ASTs and the model to the flat program of program.h.
//
// Lowering goes through a hash-consed expression graph: every node is looked up before it is
// created, so a sub-expression written in several rules (say `amt > 500`) exists once, and
// constant operands are folded with the same scalar kernels the evaluators use. Code
// generation then emits the nodes reachable from the rule roots and the model in creation
// order (a topological order) and reuses a register as soon as its last reader has run.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "score/parser.h"
#include "score/program.h"
#include "vigil/config.h"
#include "vigil/dictionary.h"

namespace vigil::score {

struct CompiledProgram {
  std::vector<Instr> code;
  std::vector<std::uint32_t> ids;
  std::size_t num_regs = 0;
  std::size_t mask_regs = 0;
  std::size_t rules = 0;
  std::vector<Field> flagged_fields;  // sorted, distinct
  std::string listing;                // dump_program()

  ProgramView view() const noexcept {
    return {code.data(), code.size(), ids.data(), num_regs, mask_regs, rules};
  }
};

/// A model term resolved to its feature column.
struct ModelTerm {
  std::uint32_t column = 0;
  double weight = 0;
  double mean = 0;
  double std = 1;
};

/// Builds the program from parsed rule conditions (`roots[i]` for rule i, never null) and the
/// resolved model terms. String literals are interned into `dict`.
CompiledProgram generate(std::span<const Expr* const> roots, double model_bias,
                         std::span<const ModelTerm> terms, bool has_model,
                         std::span<const std::string> feature_names,
                         std::span<const std::string> rule_ids, Dictionary& dict);

}  // namespace vigil::score
