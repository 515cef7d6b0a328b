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
  std::vector<Operand> operands;
  std::size_t num_regs = 0;
  std::size_t mask_regs = 0;
  std::size_t rules = 0;
  std::vector<Field> flagged_fields;  // sorted, distinct
  std::string listing;                // dump_program()

  ProgramView view() const noexcept {
    return {code.data(), code.size(), ids.data(), operands.data(), num_regs, mask_regs, rules};
  }
};

/// A parsed model term: its expression (a number or a condition) and its coefficients.
struct TermInput {
  const Expr* expr = nullptr;
  double weight = 0;
  double mean = 0;
  double std = 1;
};

/// The model as the compiler sees it.
struct ModelInput {
  ModelSpec::Kind kind = ModelSpec::Kind::kNone;
  double bias = 0;
  double scale = 0;
  std::span<const TermInput> terms;
};

/// Builds the scoring program from parsed rule conditions (`roots[i]` for rule i, never null)
/// and the model: the rule bitmaps (kRulesOut), the model's score (kModelOut) and its two
/// strongest terms per row (kTop2Out). Rules and terms share one hash-consed graph, so a
/// sub-expression they have in common is computed once. String literals are interned into
/// `dict`.
CompiledProgram generate(std::span<const Expr* const> roots, const ModelInput& model,
                         std::span<const std::string> feature_names,
                         std::span<const std::string> rule_ids, Dictionary& dict);

/// Builds the program that writes each term's raw value x_i (conditions as 1 / 0, NaN when
/// missing) to kTermOut i, and nothing else: what Scorer::evaluate_terms runs.
CompiledProgram generate_term_values(std::span<const TermInput> terms,
                                     std::span<const std::string> feature_names, Dictionary& dict);

}  // namespace vigil::score
