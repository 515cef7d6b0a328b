// Lowering of rule ASTs to the flat program: hash-consing (CSE), constant folding, simple
// boolean simplification, then code generation with register reuse.
#include "score/compiler.h"

#include <absl/container/flat_hash_map.h>
#include "score/text.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <tuple>

#include "score/eval_impl.h"
#include "score/lanes_scalar.h"

namespace vigil::score {

double apply_numeric(Op op, double a, double b) noexcept {
  using K = Kernels<ScalarLanes>;
  switch (op) {
    case Op::kAdd: return K::add(a, b);
    case Op::kSub: return K::sub(a, b);
    case Op::kMul: return K::mul(a, b);
    case Op::kDiv: return K::div(a, b);
    case Op::kMin: return K::min(a, b);
    case Op::kMax: return K::max(a, b);
    case Op::kSigmoidScale: return K::sigmoid_scale(a, b);
    case Op::kLinearScale: return K::linear_scale(a, b);
    case Op::kNeg: return K::neg(a);
    case Op::kAbs: return K::abs(a);
    case Op::kLog1p: return K::log1p(a);
    case Op::kNanToZero: return K::nan_to_zero(a);
    default: return 0;
  }
}

bool apply_compare(Op op, double a, double b) noexcept {
  using K = Kernels<ScalarLanes>;
  switch (op) {
    case Op::kLt: return K::lt(a, b);
    case Op::kLe: return K::le(a, b);
    case Op::kGt: return K::gt(a, b);
    case Op::kGe: return K::ge(a, b);
    case Op::kEq: return K::eq(a, b);
    case Op::kNe: return K::ne(a, b);
    default: return false;
  }
}

namespace {

enum class Kind : std::uint8_t { kConst, kFeature, kMaskConst, kOp };

struct Node {
  Kind kind = Kind::kOp;
  Op op = Op::kAdd;
  std::int32_t a = -1, b = -1;
  std::uint64_t imm_bits = 0;  // constant, by bits so that -0.0 and NaN hash exactly
  std::uint32_t aux = 0;
  std::uint32_t count = 0;
  std::uint8_t field = 0, field2 = 0;

  bool is_mask() const noexcept {
    if (kind == Kind::kMaskConst) return true;
    if (kind != Kind::kOp) return false;
    return op >= Op::kLt && op <= Op::kMaskConst;
  }
  double imm() const noexcept { return std::bit_cast<double>(imm_bits); }

  friend bool operator==(const Node& x, const Node& y) noexcept {
    return std::tie(x.kind, x.op, x.a, x.b, x.imm_bits, x.aux, x.count, x.field, x.field2) ==
           std::tie(y.kind, y.op, y.a, y.b, y.imm_bits, y.aux, y.count, y.field, y.field2);
  }
  template <typename H>
  friend H AbslHashValue(H h, const Node& n) {
    return H::combine(std::move(h), n.kind, n.op, n.a, n.b, n.imm_bits, n.aux, n.count, n.field,
                      n.field2);
  }
};

bool commutative(Op op) noexcept {
  return op == Op::kAdd || op == Op::kMul || op == Op::kEq || op == Op::kNe || op == Op::kAnd ||
         op == Op::kOr;
}

Op flip(Op op) noexcept {  // a op b  ⇔  b flip(op) a
  switch (op) {
    case Op::kLt: return Op::kGt;
    case Op::kLe: return Op::kGe;
    case Op::kGt: return Op::kLt;
    case Op::kGe: return Op::kLe;
    default: return op;
  }
}

class Graph {
 public:
  std::int32_t num(double v) {
    Node n;
    n.kind = Kind::kConst;
    n.imm_bits = std::bit_cast<std::uint64_t>(v);
    return intern(n);
  }
  std::int32_t feature(std::uint32_t column) {
    Node n;
    n.kind = Kind::kFeature;
    n.aux = column;
    return intern(n);
  }
  std::int32_t mask_const(bool v) {
    Node n;
    n.kind = Kind::kMaskConst;
    n.imm_bits = v ? 1 : 0;
    return intern(n);
  }
  bool is_const(std::int32_t id) const { return nodes_[id].kind == Kind::kConst; }
  bool is_op(std::int32_t id, Op op) const {
    return nodes_[id].kind == Kind::kOp && nodes_[id].op == op;
  }
  bool is_mask_const(std::int32_t id, bool v) const {
    return nodes_[id].kind == Kind::kMaskConst && (nodes_[id].imm_bits != 0) == v;
  }

  std::int32_t arith(Op op, std::int32_t a, std::int32_t b = -1) {
    if (is_const(a) && (b < 0 || is_const(b))) {
      return num(apply_numeric(op, nodes_[a].imm(), b < 0 ? 0.0 : nodes_[b].imm()));
    }
    if (op == Op::kNeg && nodes_[a].kind == Kind::kOp && nodes_[a].op == Op::kNeg) {
      return nodes_[a].a;  // -(-x) == x bit for bit
    }
    if (b >= 0 && commutative(op) && (is_const(a) || (!is_const(b) && b < a))) std::swap(a, b);
    return op_node(op, a, b);
  }

  std::int32_t compare(Op op, std::int32_t a, std::int32_t b) {
    if (is_const(a) && is_const(b)) {
      return mask_const(apply_compare(op, nodes_[a].imm(), nodes_[b].imm()));
    }
    if (is_const(a) || (commutative(op) && !is_const(b) && b < a)) {
      std::swap(a, b);
      op = flip(op);
    }
    return op_node(op, a, b);
  }

  std::int32_t logic_and(std::int32_t a, std::int32_t b) {
    if (is_mask_const(a, false) || is_mask_const(b, false)) return mask_const(false);
    if (is_mask_const(a, true)) return b;
    if (is_mask_const(b, true) || a == b) return a;
    // a && !b in one instruction.
    if (is_not(b)) return op_node(Op::kAndNot, a, nodes_[b].a);
    if (is_not(a)) return op_node(Op::kAndNot, b, nodes_[a].a);
    if (b < a) std::swap(a, b);
    return op_node(Op::kAnd, a, b);
  }

  std::int32_t logic_or(std::int32_t a, std::int32_t b) {
    if (is_mask_const(a, true) || is_mask_const(b, true)) return mask_const(true);
    if (is_mask_const(a, false)) return b;
    if (is_mask_const(b, false) || a == b) return a;
    if (b < a) std::swap(a, b);
    return op_node(Op::kOr, a, b);
  }

  std::int32_t logic_not(std::int32_t a) {
    if (nodes_[a].kind == Kind::kMaskConst) return mask_const(nodes_[a].imm_bits == 0);
    if (is_not(a)) return nodes_[a].a;
    return op_node(Op::kNot, a);
  }

  std::int32_t mask_to_num(std::int32_t m) {
    if (nodes_[m].kind == Kind::kMaskConst) return num(nodes_[m].imm_bits != 0 ? 1.0 : 0.0);
    return op_node(Op::kMaskToNum, m);
  }

  std::int32_t str_eq(Field field, std::uint32_t id) {
    Node n;
    n.op = Op::kStrEq;
    n.field = static_cast<std::uint8_t>(field);
    n.aux = id;
    return intern(n);
  }
  std::int32_t str_in(Field field, std::vector<std::uint32_t> ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.empty()) return mask_const(false);
    if (ids.size() == 1) return str_eq(field, ids[0]);
    // Identical lists share one copy in the id pool, so CSE sees equal (aux, count).
    auto [it, fresh] = lists_.try_emplace(ids, static_cast<std::uint32_t>(id_pool_.size()));
    if (fresh) id_pool_.insert(id_pool_.end(), ids.begin(), ids.end());
    Node n;
    n.op = Op::kStrIn;
    n.field = static_cast<std::uint8_t>(field);
    n.aux = it->second;
    n.count = static_cast<std::uint32_t>(ids.size());
    return intern(n);
  }
  std::int32_t str_eq_field(Field x, Field y) {
    if (x == y) return mask_const(true);
    if (y < x) std::swap(x, y);
    Node n;
    n.op = Op::kStrEqField;
    n.field = static_cast<std::uint8_t>(x);
    n.field2 = static_cast<std::uint8_t>(y);
    return intern(n);
  }
  std::int32_t flagged(Field field) {
    Node n;
    n.op = Op::kFlagged;
    n.field = static_cast<std::uint8_t>(field);
    return intern(n);
  }

  const std::vector<Node>& nodes() const noexcept { return nodes_; }
  std::vector<std::uint32_t>& ids() noexcept { return id_pool_; }

 private:
  bool is_not(std::int32_t id) const {
    return nodes_[id].kind == Kind::kOp && nodes_[id].op == Op::kNot;
  }
  std::int32_t op_node(Op op, std::int32_t a, std::int32_t b = -1) {
    Node n;
    n.op = op;
    n.a = a;
    n.b = b;
    return intern(n);
  }
  std::int32_t intern(const Node& n) {
    auto [it, fresh] = index_.try_emplace(n, static_cast<std::int32_t>(nodes_.size()));
    if (fresh) nodes_.push_back(n);
    return it->second;
  }

  std::vector<Node> nodes_;
  absl::flat_hash_map<Node, std::int32_t> index_;
  std::vector<std::uint32_t> id_pool_;
  absl::flat_hash_map<std::vector<std::uint32_t>, std::uint32_t> lists_;
};

class Lowering {
 public:
  Lowering(Graph& g, Dictionary& dict) : g_(g), dict_(dict) {}

  /// A model term's value: the number, or 1 / 0 for a condition.
  std::int32_t term_value(const Expr& e) {
    const std::int32_t v = lower(e);
    return e.type == Type::kBool ? g_.mask_to_num(v) : v;
  }

  std::int32_t lower(const Expr& e) {
    auto arg = [&](std::size_t i) { return lower(*e.args[i]); };
    switch (e.fn) {
      case Fn::kNumber: return g_.num(e.number);
      case Fn::kFeature: return g_.feature(e.column);
      case Fn::kString:
      case Fn::kStrField: return -1;  // only inside comparisons, handled there
      case Fn::kAdd: return g_.arith(Op::kAdd, arg(0), arg(1));
      case Fn::kSub: return g_.arith(Op::kSub, arg(0), arg(1));
      case Fn::kMul: return g_.arith(Op::kMul, arg(0), arg(1));
      case Fn::kDiv: return g_.arith(Op::kDiv, arg(0), arg(1));
      case Fn::kNeg: return g_.arith(Op::kNeg, arg(0));
      case Fn::kAbs: return g_.arith(Op::kAbs, arg(0));
      case Fn::kLog1p: return g_.arith(Op::kLog1p, arg(0));
      case Fn::kMin: return g_.arith(Op::kMin, arg(0), arg(1));
      case Fn::kMax: return g_.arith(Op::kMax, arg(0), arg(1));
      case Fn::kLt: return g_.compare(Op::kLt, arg(0), arg(1));
      case Fn::kLe: return g_.compare(Op::kLe, arg(0), arg(1));
      case Fn::kGt: return g_.compare(Op::kGt, arg(0), arg(1));
      case Fn::kGe: return g_.compare(Op::kGe, arg(0), arg(1));
      case Fn::kEq:
      case Fn::kNe: {
        std::int32_t m;
        if (e.args[0]->type == Type::kString) {
          m = string_eq(*e.args[0], *e.args[1]);
          return e.fn == Fn::kEq ? m : g_.logic_not(m);
        }
        // != is ordered (false on NaN), so it is its own op rather than !(==).
        return g_.compare(e.fn == Fn::kEq ? Op::kEq : Op::kNe, arg(0), arg(1));
      }
      case Fn::kAnd: return g_.logic_and(arg(0), arg(1));
      case Fn::kOr: return g_.logic_or(arg(0), arg(1));
      case Fn::kNot: return g_.logic_not(arg(0));
      case Fn::kBetween: {
        const std::int32_t x = arg(0);
        return g_.logic_and(g_.compare(Op::kGe, x, arg(1)), g_.compare(Op::kLe, x, arg(2)));
      }
      case Fn::kIn: {
        const Expr& x = *e.args[0];
        if (x.type == Type::kString) {
          if (x.fn == Fn::kString) {  // "lit" in [...]: known now
            return g_.mask_const(std::find(e.strings.begin(), e.strings.end(), x.text) !=
                                 e.strings.end());
          }
          std::vector<std::uint32_t> ids;
          for (const auto& s : e.strings) ids.push_back(literal_id(x.field, s));
          return g_.str_in(x.field, std::move(ids));
        }
        const std::int32_t v = arg(0);
        std::int32_t m = g_.mask_const(false);
        for (double n : e.numbers) m = g_.logic_or(m, g_.compare(Op::kEq, v, g_.num(n)));
        return m;
      }
      case Fn::kFlagged: return g_.flagged(e.field);
    }
    return g_.mask_const(false);
  }

 private:
  // The id a literal compares as: a dictionary id, or the character for gender. A gender
  // literal longer than one character can match nothing; id 0 (missing) would match missing
  // values, so use a value no char has.
  std::uint32_t literal_id(Field field, const std::string& s) {
    if (field == Field::kGender) {
      return s.size() == 1 ? static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) : 0x100;
    }
    if (s.empty()) return kNoStr;
    return dict_.intern(s);
  }

  std::int32_t string_eq(const Expr& x, const Expr& y) {
    if (x.fn == Fn::kStrField && y.fn == Fn::kStrField) {
      if ((x.field == Field::kGender) != (y.field == Field::kGender)) return g_.mask_const(false);
      return g_.str_eq_field(x.field, y.field);
    }
    const Expr& f = x.fn == Fn::kStrField ? x : y;
    const Expr& lit = x.fn == Fn::kStrField ? y : x;
    const std::uint32_t id = literal_id(f.field, lit.text);
    if (f.field == Field::kGender && id > 0xFF) return g_.mask_const(false);
    return g_.str_eq(f.field, id);
  }

  Graph& g_;
  Dictionary& dict_;
};

std::string fmt_num(double v) { return cat(v); }

}  // namespace

namespace {

std::string_view op_name(Op op) noexcept {
  switch (op) {
    case Op::kAdd: return "add";
    case Op::kSub: return "sub";
    case Op::kMul: return "mul";
    case Op::kDiv: return "div";
    case Op::kMin: return "min";
    case Op::kMax: return "max";
    case Op::kSigmoidScale: return "sigmoid_scale";
    case Op::kLinearScale: return "linear_scale";
    case Op::kNeg: return "neg";
    case Op::kAbs: return "abs";
    case Op::kLog1p: return "log1p";
    case Op::kNanToZero: return "nan_to_zero";
    case Op::kScaleNz: return "scale_nz";
    case Op::kMaskToNum: return "mask_to_num";
    case Op::kLt: return "lt";
    case Op::kLe: return "le";
    case Op::kGt: return "gt";
    case Op::kGe: return "ge";
    case Op::kEq: return "eq";
    case Op::kNe: return "ne";
    case Op::kAnd: return "and";
    case Op::kOr: return "or";
    case Op::kAndNot: return "and_not";
    case Op::kNot: return "not";
    case Op::kStrEq: return "str_eq";
    case Op::kStrIn: return "str_in";
    case Op::kStrEqField: return "str_eq_field";
    case Op::kFlagged: return "flagged";
    case Op::kMaskConst: return "mask_const";
    case Op::kRulesOut: return "rules";
    case Op::kModelOut: return "model";
    case Op::kTermOut: return "term";
    case Op::kTop2Out: return "top2";
    case Op::kModel: return "model";
  }
  return "?";
}

/// A program output: the rule bitmaps (one node per rule), the model score, a model term's
/// value, or the model's top-two terms (one node per term contribution).
struct Sink {
  Sink(Op o, std::vector<std::int32_t> n, std::uint32_t a, std::string l)
      : op(o), nodes(std::move(n)), aux(a), label(std::move(l)) {}
  Op op = Op::kRulesOut;
  std::vector<std::int32_t> nodes;
  std::uint32_t aux = 0;
  std::string label;  // listing
  // kModel: per node (term value) its k and mean (+0.0 for none), the bias, scale and fop.
  std::vector<double> k, mean;
  double bias = 0, scale = 0;
  Op fop = Op::kSigmoidScale;
};

// Threshold ladders (`x > 500`, `x > 800`, … under one mask; or `amt > avg · 2`, `amt >
// avg · 3`, …): consecutive comparisons that differ only by a constant run as one group, so
// the evaluator loads their columns once. Members never read each other's results (they
// share operands defined before the first), and a destination may be the shared mask only
// for the last member: the evaluator reads a mask word before writing any member's word.
void group_ladders(std::vector<Instr>& code) {
  auto is_cmp = [](Op op) { return op >= Op::kLt && op <= Op::kNe; };
  auto same_reg = [](const Operand& x, const Operand& y) {
    return x.src == y.src && x.src != Src::kConst && x.src != Src::kNone && x.index == y.index;
  };
  auto fits = [&](const Instr& x, const Instr& y) {
    if (!is_cmp(x.op) || y.op != x.op || y.fused != x.fused || y.mask != x.mask) return false;
    if (!same_reg(x.a, y.a)) return false;
    if (!x.fused) return x.b.src == Src::kConst && y.b.src == Src::kConst;
    return y.fop == x.fop && same_reg(x.b, y.b) && x.c.src == Src::kConst && y.c.src == Src::kConst;
  };
  for (std::size_t k = 0; k < code.size();) {
    std::size_t n = 1;
    while (k + n < code.size() && n < kMaxGroup && fits(code[k], code[k + n])) {
      bool clash = false;  // a member before the new one writes the mask or a shared dst
      for (std::size_t i = k; i < k + n; ++i) {
        clash = clash || code[i].dst == code[k].mask || code[i].dst == code[k + n].dst;
      }
      if (clash) break;
      ++n;
    }
    if (n > 1) code[k].group = static_cast<std::uint8_t>(n);
    k += n;
  }
}

CompiledProgram emit(Graph& g, std::span<const Sink> sinks, std::size_t rules,
                     std::span<const std::string> feature_names,
                     std::span<const std::string> rule_ids, const Dictionary& dict) {
  const auto& nodes = g.nodes();
  const std::size_t n = nodes.size();
  // Liveness: which op nodes are needed, and the last node that reads each.
  std::vector<bool> live(n, false);
  std::vector<std::int32_t> stack;
  for (const Sink& s : sinks) stack.insert(stack.end(), s.nodes.begin(), s.nodes.end());
  while (!stack.empty()) {
    const std::int32_t id = stack.back();
    stack.pop_back();
    if (live[id]) continue;
    live[id] = true;
    if (nodes[id].kind != Kind::kOp) continue;
    if (nodes[id].a >= 0) stack.push_back(nodes[id].a);
    if (nodes[id].b >= 0) stack.push_back(nodes[id].b);
  }
  // Sinks read their source after every node (they run last), so a root's register stays
  // live to the end; constants as rule roots need a register too.
  constexpr std::int32_t kEnd = std::numeric_limits<std::int32_t>::max();
  // Fusion: a comparison read only by one `&&` runs inside it (one instruction, compare and
  // mask the result), so its bitmap is never stored and reloaded.
  std::vector<std::int32_t> readers(n, 0);
  for (std::size_t id = 0; id < n; ++id) {
    if (!live[id] || nodes[id].kind != Kind::kOp) continue;
    if (nodes[id].a >= 0) ++readers[nodes[id].a];
    if (nodes[id].b >= 0 && nodes[id].b != nodes[id].a) ++readers[nodes[id].b];
  }
  for (const Sink& s : sinks) {
    for (std::int32_t id : s.nodes) readers[id] += 2;  // never fused
  }
  auto is_compare = [&](std::int32_t id) {
    return nodes[id].kind == Kind::kOp && nodes[id].op >= Op::kLt && nodes[id].op <= Op::kNe;
  };
  auto is_const = [&](std::int32_t id) { return id >= 0 && nodes[id].kind == Kind::kConst; };
  auto is_op = [&](std::int32_t id, Op op) {
    return id >= 0 && nodes[id].kind == Kind::kOp && nodes[id].op == op;
  };
  // Arithmetic read only by one comparison runs inside it, in registers (`amt > 3 * avg`
  // loads amt and avg and never stores 3 * avg). The comparison gets it on the right,
  // flipped if needed (a op b ⇔ b flip(op) a), with a non-constant left.
  std::vector<std::int32_t> fused_arith(n, -1);  // comparison → the arithmetic node it runs
  std::vector<bool> flipped(n, false);           // comparison evaluated as b flip(op) a
  std::vector<bool> inlined(n, false);           // arithmetic node run by its reader
  for (std::size_t id = 0; id < n; ++id) {
    const Node& x = nodes[id];
    if (!live[id] || !is_compare(static_cast<std::int32_t>(id))) continue;
    auto fusable = [&](std::int32_t c) {
      return readers[c] == 1 &&
             (is_op(c, Op::kAdd) || is_op(c, Op::kSub) || is_op(c, Op::kMul) || is_op(c, Op::kDiv));
    };
    if (x.a != x.b && fusable(x.b) && !is_const(x.a)) {
      fused_arith[id] = x.b;
    } else if (x.a != x.b && fusable(x.a) && !is_const(x.b)) {
      fused_arith[id] = x.a;
      flipped[id] = true;
    } else {
      continue;
    }
    inlined[fused_arith[id]] = true;
  }
  // A model term's nan_to_zero((x − mean) · k) as one kScaleNz instruction.
  std::vector<std::array<std::int32_t, 3>> scale(n, {-1, -1, -1});  // x, k, mean
  for (std::size_t id = 0; id < n; ++id) {
    const Node& x = nodes[id];
    if (!live[id] || x.kind != Kind::kOp || x.op != Op::kNanToZero) continue;
    const std::int32_t m = x.a;
    if (!is_op(m, Op::kMul) || readers[m] != 1 || inlined[m] || !is_const(nodes[m].b)) continue;
    std::int32_t src = nodes[m].a, mean = -1;
    if (is_op(src, Op::kSub) && readers[src] == 1 && !inlined[src] && is_const(nodes[src].b) &&
        !is_const(nodes[src].a)) {
      mean = nodes[src].b;
      inlined[src] = true;
      src = nodes[src].a;
    }
    if (is_const(src)) continue;  // folded already; kept for safety
    inlined[m] = true;
    scale[id] = {src, nodes[m].b, mean};
  }
  std::vector<std::int32_t> fused_cmp(n, -1);  // And node → the comparison it runs
  std::vector<bool> fused(n, false);           // comparison run by its And
  for (std::size_t id = 0; id < n; ++id) {
    const Node& x = nodes[id];
    if (!live[id] || x.kind != Kind::kOp || x.op != Op::kAnd) continue;
    for (std::int32_t c : {x.b, x.a}) {
      if (is_compare(c) && readers[c] == 1 && !fused[c]) {
        fused_cmp[id] = c;
        fused[c] = true;
        break;
      }
    }
  }
  // The nodes an instruction reads: its operands, or for a fused And the comparison's
  // operands and the other mask.
  auto reads = [&](std::size_t id) {
    std::array<std::int32_t, 4> r{-1, -1, -1, -1};
    const Node& x = nodes[id];
    if (x.kind != Kind::kOp) return r;
    const std::int32_t c = fused_cmp[id] >= 0 ? fused_cmp[id]
                           : is_compare(static_cast<std::int32_t>(id))
                               ? static_cast<std::int32_t>(id)
                               : -1;
    if (scale[id][0] >= 0) {
      r[0] = scale[id][0];
    } else if (c >= 0 && fused_arith[c] >= 0) {
      const Node& ar = nodes[fused_arith[c]];
      r = {flipped[c] ? nodes[c].b : nodes[c].a, ar.a, ar.b, -1};
    } else if (c >= 0) {
      r = {nodes[c].a, nodes[c].b, -1, -1};
    } else {
      r = {x.a, x.b, -1, -1};
    }
    if (fused_cmp[id] >= 0) r[3] = c == x.a ? x.b : x.a;
    for (auto& o : r) {
      if (is_const(o)) o = -1;
    }
    for (std::size_t i = 1; i < r.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) r[i] = r[i] == r[j] ? -1 : r[i];
    }
    return r;
  };
  std::vector<std::int32_t> last_use(n, -1);
  for (std::size_t id = 0; id < n; ++id) {
    if (!live[id] || fused[id] || inlined[id]) continue;
    for (std::int32_t o : reads(id)) {
      if (o >= 0) last_use[o] = static_cast<std::int32_t>(id);
    }
  }
  for (const Sink& s : sinks) {
    for (std::int32_t id : s.nodes) last_use[id] = kEnd;
  }

  CompiledProgram out;
  out.rules = rules;
  std::vector<std::uint32_t> reg(n, 0);
  std::vector<std::uint32_t> free_num, free_mask;
  auto alloc = [&](bool mask) -> std::uint32_t {
    auto& pool = mask ? free_mask : free_num;
    if (!pool.empty()) {
      const std::uint32_t r = pool.back();
      pool.pop_back();
      return r;
    }
    return static_cast<std::uint32_t>(mask ? out.mask_regs++ : out.num_regs++);
  };
  auto operand = [&](std::int32_t id) {
    Operand o;
    const Node& x = nodes[id];
    if (x.kind == Kind::kConst) {
      o.src = Src::kConst;
      o.imm = x.imm();
    } else if (x.kind == Kind::kFeature) {
      o.src = Src::kFeature;
      o.index = x.aux;
    } else {
      o.src = Src::kReg;
      o.index = reg[id];
    }
    return o;
  };
  auto name = [&](std::int32_t id) -> std::string {
    const Node& x = nodes[id];
    if (x.kind == Kind::kConst) return fmt_num(x.imm());
    if (x.kind == Kind::kFeature) return feature_names[x.aux];
    return cat(x.is_mask() ? "m" : "n", reg[id]);
  };
  auto str_name = [&](std::uint8_t field, std::uint32_t id) -> std::string {
    if (static_cast<Field>(field) == Field::kGender) {
      return id <= 0xFF ? cat("'", std::string(1, static_cast<char>(id)), "'") : "<none>";
    }
    return cat("\"", dict.view(id), "\"");
  };

  for (std::size_t id = 0; id < n; ++id) {
    const Node& x = nodes[id];
    const bool root_const = x.kind == Kind::kMaskConst && last_use[id] == kEnd;
    if (!live[id] || fused[id] || inlined[id] || (x.kind != Kind::kOp && !root_const)) continue;
    const std::int32_t fc = fused_cmp[id];
    Instr in;
    in.op = root_const ? Op::kMaskConst : x.op;
    in.field = x.field;
    in.field2 = x.field2;
    in.aux = x.aux;
    in.count = x.count;
    if (root_const) in.a.imm = static_cast<double>(x.imm_bits);
    const std::int32_t cmp = fc >= 0 ? fc
                             : is_compare(static_cast<std::int32_t>(id))
                                 ? static_cast<std::int32_t>(id)
                                 : -1;
    std::string args_text;  // listing
    if (cmp >= 0) {
      const Node& c = nodes[cmp];
      in.op = flipped[cmp] ? flip(c.op) : c.op;
      const std::int32_t left = flipped[cmp] ? c.b : c.a;
      in.a = operand(left);
      if (const std::int32_t ar = fused_arith[cmp]; ar >= 0) {
        in.fused = true;
        in.fop = nodes[ar].op;
        in.b = operand(nodes[ar].a);
        in.c = operand(nodes[ar].b);
        args_text = cat(name(left), ", (", op_name(in.fop), " ", name(nodes[ar].a), ", ",
                        name(nodes[ar].b), ")");
      } else {
        in.b = operand(c.b);
        args_text = cat(name(c.a), ", ", name(c.b));
      }
      if (fc >= 0) {
        in.mask = reg[fc == x.a ? x.b : x.a];
        append(&args_text, " & ", name(fc == x.a ? x.b : x.a));
      }
    } else if (scale[id][0] >= 0) {
      in.op = Op::kScaleNz;
      in.a = operand(scale[id][0]);
      in.b = operand(scale[id][1]);
      args_text = cat(name(scale[id][0]), ", ", name(scale[id][1]));
      if (scale[id][2] >= 0) {
        in.c = operand(scale[id][2]);
        append(&args_text, ", ", name(scale[id][2]));
      }
    } else if (x.kind == Kind::kOp) {
      if (x.a >= 0) in.a = operand(x.a);
      if (x.b >= 0) in.b = operand(x.b);
    }
    // Free operand registers whose last reader is this instruction, then pick the
    // destination (it may reuse one: kernels read each word or element before writing it).
    for (std::int32_t o : reads(id)) {
      if (o >= 0 && nodes[o].kind == Kind::kOp && last_use[o] == static_cast<std::int32_t>(id)) {
        (nodes[o].is_mask() ? free_mask : free_num).push_back(reg[o]);
      }
    }
    reg[id] = alloc(x.is_mask());
    in.dst = reg[id];
    out.code.push_back(in);

    std::string line = cat(name(static_cast<std::int32_t>(id)), " = ", op_name(in.op));
    switch (in.op) {
      case Op::kStrEq:
        append(&line, " ", field_name(static_cast<Field>(in.field)), ", ",
               str_name(in.field, in.aux));
        break;
      case Op::kStrIn: {
        append(&line, " ", field_name(static_cast<Field>(in.field)), ", [");
        for (std::uint32_t k = 0; k < in.count; ++k) {
          append(&line, k ? ", " : "", str_name(in.field, g.ids()[in.aux + k]));
        }
        append(&line, "]");
        break;
      }
      case Op::kStrEqField:
        append(&line, " ", field_name(static_cast<Field>(in.field)), ", ",
               field_name(static_cast<Field>(in.field2)));
        break;
      case Op::kFlagged: append(&line, " ", field_name(static_cast<Field>(in.field))); break;
      case Op::kMaskConst: append(&line, " ", in.a.imm != 0 ? "true" : "false"); break;
      default:
        if (!args_text.empty()) {
          append(&line, " ", args_text);
          break;
        }
        if (x.a >= 0) append(&line, " ", name(x.a));
        if (x.b >= 0) append(&line, ", ", name(x.b));
        break;
    }
    append(&out.listing, line, "\n");
    if (x.kind == Kind::kOp && x.op == Op::kFlagged) {
      out.flagged_fields.push_back(static_cast<Field>(x.field));
    }
  }
  out.ids = g.ids();
  for (const Sink& s : sinks) {
    Instr in;
    in.op = s.op;
    in.aux = s.aux;
    std::string line = cat(s.label, " <-");
    for (std::size_t k = 0; k < s.nodes.size(); ++k) {
      append(&line, k ? ", " : " ", name(s.nodes[k]));
    }
    if (s.op == Op::kRulesOut) {  // list of mask registers, listed one rule a line
      line.clear();
      for (std::size_t r = 0; r < s.nodes.size(); ++r) {
        append(&line, r ? "\n" : "", "rule ", r, " (", rule_ids[r], ") <- ", name(s.nodes[r]));
      }
      in.aux = static_cast<std::uint32_t>(out.ids.size());
      in.count = static_cast<std::uint32_t>(s.nodes.size());
      for (std::int32_t id : s.nodes) out.ids.push_back(reg[id]);
    } else if (s.op == Op::kModel) {  // (x, k, mean) operand triples, one per term
      in.aux = static_cast<std::uint32_t>(out.operands.size());
      in.count = static_cast<std::uint32_t>(s.nodes.size());
      in.a.imm = s.bias;
      in.b.imm = s.scale;
      in.fop = s.fop;
      line = cat(s.label, " <- ", op_name(s.fop), " ", fmt_num(s.scale), ", ", fmt_num(s.bias),
                 " + terms; top2 <- terms:");
      for (std::size_t t = 0; t < s.nodes.size(); ++t) {
        Operand k, mean;
        k.src = mean.src = Src::kConst;
        k.imm = s.k[t];
        mean.imm = s.mean[t];
        Operand x = operand(s.nodes[t]);
        if (nodes[s.nodes[t]].is_mask()) x.src = Src::kMask;
        out.operands.push_back(x);
        out.operands.push_back(k);
        out.operands.push_back(mean);
        append(&line, "\n  scale_nz ", name(s.nodes[t]), ", ", fmt_num(s.k[t]));
        if (s.mean[t] != 0) append(&line, ", ", fmt_num(s.mean[t]));
      }
    } else if (s.op == Op::kTop2Out) {  // list of numeric operands
      in.aux = static_cast<std::uint32_t>(out.operands.size());
      in.count = static_cast<std::uint32_t>(s.nodes.size());
      for (std::int32_t id : s.nodes) out.operands.push_back(operand(id));
    } else {
      in.a = operand(s.nodes.front());
    }
    out.code.push_back(in);
    append(&out.listing, line, "\n");
  }
  group_ladders(out.code);
  std::sort(out.flagged_fields.begin(), out.flagged_fields.end());
  out.flagged_fields.erase(std::unique(out.flagged_fields.begin(), out.flagged_fields.end()),
                           out.flagged_fields.end());
  return out;
}

}  // namespace

CompiledProgram generate(std::span<const Expr* const> roots, const ModelInput& model,
                         std::span<const std::string> feature_names,
                         std::span<const std::string> rule_ids, Dictionary& dict) {
  Graph g;
  Lowering lower(g, dict);
  std::vector<Sink> sinks;
  Sink rules{Op::kRulesOut, {}, 0, "rules"};
  for (const Expr* e : roots) rules.nodes.push_back(lower.lower(*e));
  if (!roots.empty()) sinks.push_back(std::move(rules));
  // Model: lin = bias + Σ c_i, c_i = nan_to_zero((x − mean) · (w / std)), summed in term order;
  // the score is scale · sigmoid(lin) (or the clamped linear form), and the two largest |c_i|
  // name the reasons.
  const Op model_op =
      model.kind == ModelSpec::Kind::kLogistic ? Op::kSigmoidScale : Op::kLinearScale;
  // One kModel pass when every term is a column or a computed register (a constant term
  // would have been folded into the sum: the general form below keeps that exact shape).
  bool fused_model = model.kind != ModelSpec::Kind::kNone && !model.terms.empty() &&
                     model.terms.size() <= kMaxModelTerms;
  if (fused_model) {
    Sink m{Op::kModel, {}, 0, "model"};
    m.bias = model.bias;
    m.scale = model.scale;
    m.fop = model_op;
    for (const TermInput& t : model.terms) {
      std::int32_t z = lower.term_value(*t.expr);
      fused_model = fused_model && !g.is_const(z);
      // A condition's 1 / 0 is read from its mask register (Src::kMask) rather than stored
      // as numbers first.
      if (g.is_op(z, Op::kMaskToNum)) z = g.nodes()[z].a;
      m.nodes.push_back(z);
      m.k.push_back(t.weight / t.std);               // as below: folded once, bit for bit the same
      m.mean.push_back(t.mean != 0 ? t.mean : 0.0);  // x − (+0.0) == x, even for −0
    }
    if (fused_model) sinks.push_back(std::move(m));
  }
  if (model.kind != ModelSpec::Kind::kNone && !fused_model) {
    std::int32_t lin = g.num(model.bias);
    Sink top{Op::kTop2Out, {}, 0, "top2"};
    for (const TermInput& t : model.terms) {
      std::int32_t z = lower.term_value(*t.expr);
      if (t.mean != 0) z = g.arith(Op::kSub, z, g.num(t.mean));
      // (x − mean) · (w / std): one multiply per row instead of a divide and a multiply
      // (a vector divide costs ten multiplies); w / std is folded once, here.
      const std::int32_t c = g.arith(Op::kNanToZero, g.arith(Op::kMul, z, g.num(t.weight / t.std)));
      top.nodes.push_back(c);
      lin = g.arith(Op::kAdd, lin, c);
    }
    sinks.push_back({Op::kModelOut, {g.arith(model_op, lin, g.num(model.scale))}, 0, "model"});
    if (!top.nodes.empty()) sinks.push_back(std::move(top));
  }
  return emit(g, sinks, roots.size(), feature_names, rule_ids, dict);
}

CompiledProgram generate_term_values(std::span<const TermInput> terms,
                                     std::span<const std::string> feature_names, Dictionary& dict) {
  Graph g;
  Lowering lower(g, dict);
  std::vector<Sink> sinks;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    sinks.push_back({Op::kTermOut,
                     {lower.term_value(*terms[i].expr)},
                     static_cast<std::uint32_t>(i),
                     cat("term ", i)});
  }
  return emit(g, sinks, 0, feature_names, {}, dict);
}

}  // namespace vigil::score
