// Internal: the evaluator kernel, written once against a lane policy V (lanes_scalar.h or
// lanes_simd.h) and instantiated per instruction set in eval_<arch>.cc.
//
// The kernel walks the batch in chunks of kChunk rows and runs the whole program on each
// chunk. Comparisons write packed bitmasks (one bit per row), so boolean logic costs a word
// operation per 64 rows and a rule's result is directly the fired-row bitmap the combine step
// iterates. Rows past the end of the batch inside the last register are computed on padding
// (columns are padded to 64 bytes) and masked off by the caller.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "score/flag_hash.h"
#include "score/program.h"

namespace vigil::score {
// Internal linkage on purpose: each eval_<arch>.cc compiles this header with different
// instruction-set flags, and the linker must never merge an AVX-512 copy of a kernel into
// another translation unit.
namespace {

// Element-wise semantics shared by every policy (and by constant folding).
template <class V>
struct Kernels {
  using num = typename V::num;

  static num add(num a, num b) noexcept { return a + b; }
  static num sub(num a, num b) noexcept { return a - b; }
  static num mul(num a, num b) noexcept { return a * b; }
  static num div(num a, num b) noexcept { return a / b; }
  // NaN-propagating, unlike minpd / std::min, so that a missing input stays missing (a NaN b
  // falls through `a < b` to b). NaN tests use `a == a`, never `a != a`: xsimd 8.1's
  // operator!= is unordered on SSE but ordered (_CMP_NEQ_OQ) on AVX, so it disagrees on NaN.
  static num min(num a, num b) noexcept { return V::select(a == a, V::select(a < b, a, b), a); }
  static num max(num a, num b) noexcept { return V::select(a == a, V::select(a > b, a, b), a); }
  static num neg(num a) noexcept { return V::neg(a); }
  static num abs(num a) noexcept { return V::abs(a); }
  // log1p after fdlibm (s_log1p.c / e_log.c): u = 1 + x, u = m·2^e with m in [√½, √2),
  // log m from the odd series of s = f / (2 + f), f = m − 1, plus c = (x − (u − 1)) / u for
  // the rounding of 1 + x. Within ~1 ulp of the correctly rounded result, and the same IEEE
  // operations in the same order on every arch, so the result is bit-identical everywhere.
  static num log1p(num x) noexcept {
    const num one = V::broadcast(1.0);
    const num u = one + x;
    num m, e;
    V::split_sqrt2(u, m, e);  // fdlibm's m > √2 ? (m / 2, e + 1) folded into the bits
    const num f = m - one;
    const num s = f / (V::broadcast(2.0) + f);
    const num z = s * s;
    const num w = z * z;
    const num t1 =
        w *
        (V::broadcast(3.999999999940941908e-01) +
         w * (V::broadcast(2.222219843214978396e-01) + w * V::broadcast(1.531383769920937332e-01)));
    const num t2 = z * (V::broadcast(6.666666666666735130e-01) +
                        w * (V::broadcast(2.857142874366239149e-01) +
                             w * (V::broadcast(1.818357216161805012e-01) +
                                  w * V::broadcast(1.479819860511658591e-01))));
    const num r = t2 + t1;
    const num hfsq = V::broadcast(0.5) * f * f;
    const num c = V::select(u > V::broadcast(2.0), one - (u - x), x - (u - one)) / u;
    num out = e * V::broadcast(6.93147180369123816490e-01) -
              ((hfsq - (s * (hfsq + r) + (e * V::broadcast(1.90821492927058770002e-10) + c))) - f);
    const num inf = V::broadcast(std::numeric_limits<double>::infinity());
    out = V::select(u == one, x, out);  // |x| below half an ulp of 1
    out = V::select(x == inf, inf, out);
    out = V::select(x == V::broadcast(-1.0), -inf, out);
    out = V::select(x < V::broadcast(-1.0), V::broadcast(std::nan("")), out);
    return V::select(x == x, out, x);  // NaN stays NaN
  }
  static num nan_to_zero(num a) noexcept { return V::select(a == a, a, V::broadcast(0.0)); }

  // exp after fdlibm (e_exp.c): x = k·ln2 + r, |r| <= ln2 / 2, k rounded to nearest (even) by
  // the 1.5·2^52 trick, exp(r) from the rational approximation of r·(e^r + 1) / (e^r − 1),
  // then scaled by 2^k built from bits. Under 1 ulp from the true value, and the same IEEE
  // operations on every arch. Outside [−708, 708] it returns 0 / +inf (enough for a sigmoid,
  // where 1 + e^x is then 1 or e^x overflows the score to 0 anyway).
  static num exp(num x) noexcept {
    const num big = V::broadcast(6755399441055744.0);  // 1.5 · 2^52
    const num lim = V::broadcast(708.0);
    const num xc = V::select(x > lim, lim, V::select(x < -lim, -lim, x));
    const num t = xc * V::broadcast(1.44269504088896338700e+00) + big;
    const num k = t - big;
    const num hi = xc - k * V::broadcast(6.93147180369123816490e-01);
    const num lo = k * V::broadcast(1.90821492927058770002e-10);
    const num r = hi - lo;
    const num z = r * r;
    const num c = r - z * (V::broadcast(1.66666666666666019037e-01) +
                           z * (V::broadcast(-2.77777777770155933842e-03) +
                                z * (V::broadcast(6.61375632143793436117e-05) +
                                     z * (V::broadcast(-1.65339022054652515390e-06) +
                                          z * V::broadcast(4.13813679705723846039e-08)))));
    const num one = V::broadcast(1.0);
    const num y = one - ((lo - (r * c) / (V::broadcast(2.0) - c)) - hi);
    num out = y * V::pow2i(k);
    out = V::select(x > lim, V::broadcast(std::numeric_limits<double>::infinity()), out);
    out = V::select(x < -lim, V::broadcast(0.0), out);
    return V::select(x == x, out, x);
  }
  // The model's score: scale · sigmoid(lin) or scale · clamp(lin, 0, 1); 0 when NaN.
  static num sigmoid_scale(num lin, num scale) noexcept {
    return nan_to_zero(scale / (V::broadcast(1.0) + exp(-lin)));
  }
  static num linear_scale(num lin, num scale) noexcept {
    const num zero = V::broadcast(0.0), one = V::broadcast(1.0);
    // std::clamp(lin, 0, 1): NaN passes through, then becomes 0.
    const num c = V::select(lin < zero, zero, V::select(one < lin, one, lin));
    return nan_to_zero(scale * c);
  }

  // Ordered comparisons: false whenever an operand is NaN, != included.
  static auto lt(num a, num b) noexcept { return a < b; }
  static auto le(num a, num b) noexcept { return a <= b; }
  static auto gt(num a, num b) noexcept { return a > b; }
  static auto ge(num a, num b) noexcept { return a >= b; }
  static auto eq(num a, num b) noexcept { return a == b; }
  static auto ne(num a, num b) noexcept { return V::mask_or(a<b, a> b); }
};

template <class V>
class Evaluator {
  using K = Kernels<V>;
  using num = typename V::num;
  static constexpr std::size_t W = V::width;

 public:
  Evaluator(const ProgramView& p, const EvalArgs& args) noexcept : p_(p), args_(args) {}

  void run() noexcept {
    for (std::size_t base = 0; base < args_.rows; base += kChunk) {
      std::size_t len = std::min(kChunk, args_.rows - base);
      len = (len + W - 1) / W * W;  // whole registers; padding rows are masked off later
      // Full chunks get every loop bound at compile time (unrolled, no tail logic).
      if (len == kChunk) {
        for (std::size_t k = 0; k < p_.size; k += instr<kChunk>(k, base, kChunk)) {
        }
      } else {
        for (std::size_t k = 0; k < p_.size; k += instr<0>(k, base, len)) {
        }
      }
      if (args_.plain_out != nullptr) plain(base, len);
    }
  }

  // EvalArgs::plain_out: Scorer::score's decision of a row without fired rules, with the same
  // IEEE operations (exact ones: every value here is a small integer or the clamped total):
  //   total = clamp(0.0 + ms, 0, 1000), score = trunc(total) + (frac >= 0.5),
  //   and when ms > 0 and the model names a term, reasons = its top one or two terms.
  void plain(std::size_t base, std::size_t len) const noexcept {
    const num zero = V::broadcast(0.0), one = V::broadcast(1.0);
    const num magic = V::broadcast(4503599627370496.0);  // 2^52
    for (std::size_t i = 0; i < len; i += W) {
      const num ms = args_.plain_model ? V::load(args_.model_out + base + i) : zero;
      num total = zero + ms;
      const num top = V::broadcast(1000.0);
      total = V::select(total < zero, zero, V::select(top < total, top, total));  // std::clamp
      // trunc(total) for total in [0, 1000]: round to nearest through 2^52, minus one if up.
      const num near = (total + magic) - magic;
      num whole = near - V::select(near > total, one, zero);
      whole = whole + V::select(total - whole >= V::broadcast(0.5), one, zero);
      num packed = whole + magic;
      if (args_.plain_top) {
        const num t0 = V::load(args_.top_out + base + i);
        const num t1 = V::load(args_.top_out + args_.term_stride + base + i);
        const num named = V::select(ms > zero, V::select(t0 < zero, zero, one), zero);
        const num second = V::select(t1 < zero, zero, named);
        packed = packed + (named + second) * V::broadcast(1024.0) +
                 (t0 * named) * V::broadcast(4096.0) + (t1 * second) * V::broadcast(268435456.0);
      }
      V::store(args_.plain_out + base + i, packed);
    }
  }

 private:
  double* nreg(std::uint32_t r) const noexcept { return args_.num_regs + r * kChunk; }
  const double* src_or_null(const Operand& o, std::size_t base) const noexcept {
    return o.src == Src::kConst ? nullptr : src(o, base);
  }
  std::uint64_t* mreg(std::uint32_t r) const noexcept { return args_.mask_regs + r * kChunkWords; }
  const double* src(const Operand& o, std::size_t base) const noexcept {
    return o.src == Src::kFeature ? args_.features[o.index] + base : nreg(o.index);
  }

  template <std::size_t N, class F>
  void unary(const Instr& in, std::size_t base, std::size_t len_dyn, F f) const noexcept {
    const std::size_t len = N ? N : len_dyn;
    const double* a = src(in.a, base);
    double* d = nreg(in.dst);
    for (std::size_t i = 0; i < len; i += W) V::store(d + i, f(V::load(a + i)));
  }

  // log1p: two divisions and a polynomial in one dependency chain per register, so several
  // registers go side by side (as in model()).
  template <std::size_t N>
  void log1p(const Instr& in, std::size_t base, std::size_t len_dyn) const noexcept {
    const std::size_t len = N ? N : len_dyn;
    const double* a = src(in.a, base);
    double* d = nreg(in.dst);
    constexpr std::size_t U = W >= 8 ? 4 : 2;
    std::size_t i = 0;
    for (; i + U * W <= len; i += U * W) {
      num x[U];
      for (std::size_t u = 0; u < U; ++u) x[u] = V::load(a + i + u * W);
      for (std::size_t u = 0; u < U; ++u) V::store(d + i + u * W, K::log1p(x[u]));
    }
    for (; i < len; i += W) V::store(d + i, K::log1p(V::load(a + i)));
  }

  template <std::size_t N, class F>
  void binary(const Instr& in, std::size_t base, std::size_t len_dyn, F f) const noexcept {
    const std::size_t len = N ? N : len_dyn;
    double* d = nreg(in.dst);
    if (in.b.src == Src::kConst) {
      const double* a = src(in.a, base);
      const num b = V::broadcast(in.b.imm);
      for (std::size_t i = 0; i < len; i += W) V::store(d + i, f(V::load(a + i), b));
    } else if (in.a.src == Src::kConst) {
      const num a = V::broadcast(in.a.imm);
      const double* b = src(in.b, base);
      for (std::size_t i = 0; i < len; i += W) V::store(d + i, f(a, V::load(b + i)));
    } else {
      const double* a = src(in.a, base);
      const double* b = src(in.b, base);
      for (std::size_t i = 0; i < len; i += W) V::store(d + i, f(V::load(a + i), V::load(b + i)));
    }
  }

  // Operand readers of a comparison, all inlined into its loop: a column, a constant, or a
  // fused arithmetic node over two of those (so `amt > 3 * avg` never stores 3 * avg).
  struct Load {
    const double* p;
    num operator()(std::size_t i) const noexcept { return V::load(p + i); }
  };
  struct Splat {
    num v;
    num operator()(std::size_t) const noexcept { return v; }
  };
  template <class F, class X, class Y>
  struct Arith {
    F f;
    X x;
    Y y;
    num operator()(std::size_t i) const noexcept { return f(x(i), y(i)); }
  };

  template <std::size_t N, class F, class GA, class GB>
  void compare_with(const Instr& in, std::size_t len_dyn, F f, GA ga, GB gb) const noexcept {
    const std::size_t len = N ? N : len_dyn;
    std::uint64_t* d = mreg(in.dst);
    const std::uint64_t* m = in.mask != kNoMask ? mreg(in.mask) : nullptr;
    for (std::size_t w = 0; w * 64 < len; ++w) {
      // `cmp && m` short-circuits per word: where m has no row set, nothing to compare (rule
      // sets gate their costlier tests behind rare conditions).
      if (m != nullptr && m[w] == 0) {
        d[w] = 0;
        continue;
      }
      const std::size_t end = std::min<std::size_t>(64, len - w * 64);
      std::uint64_t bits = 0;
      if (end == 64) {
        bits = V::word([&](std::size_t j) { return f(ga(w * 64 + j), gb(w * 64 + j)); });
      } else {
        for (std::size_t j = 0; j < end; j += W) {
          bits |= V::bits(f(ga(w * 64 + j), gb(w * 64 + j))) << j;
        }
      }
      // A fused `cmp && m`: the other operand's word is read before d[w] is written (the
      // destination may be that register).
      if (m != nullptr) bits &= m[w];
      d[w] = bits;
    }
  }

  // Calls k with the reader of the fused right operand fop(b, c) (never both constants: those
  // fold at compile time).
  template <class Kont>
  void with_fused(const Instr& in, std::size_t base, Kont k) const noexcept {
    auto shapes = [&](auto f) {
      if (in.b.src == Src::kConst) {
        return k(Arith<decltype(f), Splat, Load>{f, Splat{V::broadcast(in.b.imm)},
                                                 Load{src(in.c, base)}});
      }
      if (in.c.src == Src::kConst) {
        return k(Arith<decltype(f), Load, Splat>{f, Load{src(in.b, base)},
                                                 Splat{V::broadcast(in.c.imm)}});
      }
      return k(Arith<decltype(f), Load, Load>{f, Load{src(in.b, base)}, Load{src(in.c, base)}});
    };
    switch (in.fop) {
      case Op::kSub: return shapes([](num x, num y) { return K::sub(x, y); });
      case Op::kMul: return shapes([](num x, num y) { return K::mul(x, y); });
      case Op::kDiv: return shapes([](num x, num y) { return K::div(x, y); });
      default: return shapes([](num x, num y) { return K::add(x, y); });
    }
  }

  // Compilation puts a constant operand of a comparison on the right, and a fused arithmetic
  // operand on the right with a non-constant left.
  template <std::size_t N, class F>
  void compare(const Instr& in, std::size_t base, std::size_t len, F f) const noexcept {
    const Load a{src(in.a, base)};
    if (in.fused) {
      return with_fused(in, base, [&](auto gb) { compare_with<N>(in, len, f, a, gb); });
    }
    if (in.b.src == Src::kConst) {
      return compare_with<N>(in, len, f, a, Splat{V::broadcast(in.b.imm)});
    }
    return compare_with<N>(in, len, f, a, Load{src(in.b, base)});
  }

  // nan_to_zero((a − c) · b): the same three IEEE operations as the unfused instructions.
  template <std::size_t N>
  void scale_nz(const Instr& in, std::size_t base, std::size_t len_dyn) const noexcept {
    const std::size_t len = N ? N : len_dyn;
    const double* a = src(in.a, base);
    double* d = nreg(in.dst);
    const num k = V::broadcast(in.b.imm);
    if (in.c.src == Src::kConst) {
      const num mean = V::broadcast(in.c.imm);
      for (std::size_t i = 0; i < len; i += W) {
        V::store(d + i, K::nan_to_zero(K::mul(K::sub(V::load(a + i), mean), k)));
      }
    } else {
      for (std::size_t i = 0; i < len; i += W) {
        V::store(d + i, K::nan_to_zero(K::mul(V::load(a + i), k)));
      }
    }
  }

  template <class T>
  static std::uint64_t eq_bits(const T* col, T id, std::size_t end) noexcept {
    std::uint64_t bits = 0;
    for (std::size_t j = 0; j < end; ++j) bits |= static_cast<std::uint64_t>(col[j] == id) << j;
    return bits;
  }

  void str_eq(const Instr& in, std::size_t base, std::size_t len) const noexcept {
    std::uint64_t* d = mreg(in.dst);
    for (std::size_t w = 0; w * 64 < len; ++w) {
      const std::size_t end = std::min<std::size_t>(64, len - w * 64);
      const std::size_t row = base + w * 64;
      if (args_.str_columns[in.field] != nullptr) {
        d[w] = eq_bits(args_.str_columns[in.field] + row, in.aux, end);
      } else {
        d[w] = eq_bits(args_.gender + row, static_cast<char>(in.aux), end);
      }
    }
  }

  void str_in(const Instr& in, std::size_t base, std::size_t len) const noexcept {
    std::uint64_t* d = mreg(in.dst);
    const std::uint32_t* ids = p_.ids + in.aux;
    for (std::size_t w = 0; w * 64 < len; ++w) {
      const std::size_t end = std::min<std::size_t>(64, len - w * 64);
      const std::size_t row = base + w * 64;
      std::uint64_t bits = 0;
      for (std::uint32_t k = 0; k < in.count; ++k) {
        if (args_.str_columns[in.field] != nullptr) {
          bits |= eq_bits(args_.str_columns[in.field] + row, ids[k], end);
        } else {
          bits |= eq_bits(args_.gender + row, static_cast<char>(ids[k]), end);
        }
      }
      d[w] = bits;
    }
  }

  void str_eq_field(const Instr& in, std::size_t base, std::size_t len) const noexcept {
    std::uint64_t* d = mreg(in.dst);
    const std::uint32_t* x = args_.str_columns[in.field];
    const std::uint32_t* y = args_.str_columns[in.field2];
    for (std::size_t w = 0; w * 64 < len; ++w) {
      const std::size_t end = std::min<std::size_t>(64, len - w * 64);
      const std::size_t row = base + w * 64;
      std::uint64_t bits = 0;
      for (std::size_t j = 0; j < end; ++j) {
        bits |= static_cast<std::uint64_t>(x[row + j] == y[row + j]) << j;
      }
      d[w] = bits;
    }
  }

  void copy_out(const Instr& in, double* d, std::size_t base, std::size_t len) const noexcept {
    if (in.a.src == Src::kConst) {
      for (std::size_t i = 0; i < len; ++i) d[i] = in.a.imm;
    } else {
      std::memcpy(d, src(in.a, base), len * sizeof(double));
    }
  }

  // The two strongest model terms by |contribution|, kept as running (value, index) pairs in
  // registers: the same strict comparisons, in term order, as a scalar loop would make.
  void top2(const Instr& in, std::size_t base, std::size_t len) const noexcept {
    const Operand* ops = p_.operands + in.aux;
    double* out0 = args_.top_out + base;
    double* out1 = args_.top_out + args_.term_stride + base;
    const num zero = V::broadcast(0.0), none = V::broadcast(-1.0);
    for (std::size_t i = 0; i < len; i += W) {
      num m0 = zero, m1 = zero, i0 = none, i1 = none;
      for (std::uint32_t t = 0; t < in.count; ++t) {
        const Operand& o = ops[t];
        const num c =
            V::abs(o.src == Src::kConst ? V::broadcast(o.imm) : V::load(src(o, base) + i));
        const num id = V::broadcast(static_cast<double>(kTermReasonBase + t));
        const auto gt0 = c > m0;
        const auto gt1 = c > m1;
        i1 = V::select(gt0, i0, V::select(gt1, id, i1));
        m1 = V::select(gt0, m0, V::select(gt1, c, m1));
        i0 = V::select(gt0, id, i0);
        m0 = V::select(gt0, c, m0);
      }
      V::store(out0 + i, i0);
      V::store(out1 + i, i1);
    }
  }

  // Op::kModel. Term pointers and constants are resolved once per chunk, so the row loop
  // only loads, computes and keeps lin and the running top two in registers.
  //
  // A condition term (a mask register) has only two possible contributions, c_t(1) and
  // c_t(0): computed here once per chunk with the very operations the row loop would apply
  // to 1.0 and 0.0 (scalar doubles are the same IEEE operations as any lane), and picked per
  // row by the mask's bits, so such a term costs a select instead of a load, sub, mul and NaN
  // test, and never has a numeric register of its own.
  struct ModelTerm {
    const double* x;            // column or numeric register; null for a mask term
    const std::uint64_t* bits;  // mask register of a condition term
    double k, mean, id;
    double c1, c0;  // a mask term's contributions where set / clear
    double a1, a0;  // and their magnitudes
  };

  static double contribution(double x, double mean, double k) noexcept {
    const double c = (x - mean) * k;
    return c == c ? c : 0.0;  // K::nan_to_zero
  }

  template <std::size_t N>
  void model(const Instr& in, std::size_t base, std::size_t len_dyn) const noexcept {
    const std::size_t len = N ? N : len_dyn;
    const Operand* ops = p_.operands + in.aux;
    const std::uint32_t count = in.count;
    ModelTerm terms[kMaxModelTerms];
    bool has_masks = false;
    for (std::uint32_t t = 0; t < count; ++t) {
      ModelTerm& m = terms[t];
      const Operand& x = ops[3 * t];
      m.k = ops[3 * t + 1].imm;
      m.mean = ops[3 * t + 2].imm;
      m.id = static_cast<double>(kTermReasonBase + t);
      m.x = x.src == Src::kMask ? nullptr : src(x, base);
      m.bits = x.src == Src::kMask ? mreg(x.index) : nullptr;
      has_masks = has_masks || m.bits != nullptr;
      m.c1 = contribution(1.0, m.mean, m.k);
      m.c0 = contribution(0.0, m.mean, m.k);
      m.a1 = std::fabs(m.c1);
      m.a0 = std::fabs(m.c0);
    }
    double* out = args_.model_out + base;
    double* out0 = args_.top_out + base;
    double* out1 = args_.top_out + args_.term_stride + base;
    const num bias = V::broadcast(in.a.imm), scale = V::broadcast(in.b.imm);
    const num zero = V::broadcast(0.0), none = V::broadcast(-1.0);
    const bool sigmoid = in.fop == Op::kSigmoidScale;
    // U registers of rows at a time: the sum over terms and the sigmoid are long dependency
    // chains, and independent chains side by side keep the pipelines busy.
    // kMasks: some term is a condition (a program without one skips the test per term).
    auto rows = [&](std::size_t i, auto unroll, auto masks) {
      constexpr std::size_t U = decltype(unroll)::value;
      constexpr bool kMasks = decltype(masks)::value;
      num lin[U], m0[U], m1[U], i0[U], i1[U];
      for (std::size_t u = 0; u < U; ++u) {
        lin[u] = bias;
        m0[u] = m1[u] = zero;
        i0[u] = i1[u] = none;
      }
      for (std::uint32_t t = 0; t < count; ++t) {
        const ModelTerm& term = terms[t];
        num c[U], a[U];
        if (kMasks && term.bits != nullptr) {
          const num c1 = V::broadcast(term.c1), c0 = V::broadcast(term.c0);
          const num a1 = V::broadcast(term.a1), a0 = V::broadcast(term.a0);
          // i is a multiple of U · W, which divides 64: the U registers' bits share a word.
          const std::uint64_t word = term.bits[i / 64] >> (i % 64);
          for (std::size_t u = 0; u < U; ++u) {
            const auto set = V::mask_from_bits(word >> (u * W));
            c[u] = V::select(set, c1, c0);
            a[u] = V::select(set, a1, a0);
          }
        } else {
          const num mt = V::broadcast(term.mean), kt = V::broadcast(term.k);
          for (std::size_t u = 0; u < U; ++u) {
            c[u] = K::nan_to_zero(K::mul(K::sub(V::load(term.x + i + u * W), mt), kt));
            a[u] = V::abs(c[u]);
          }
        }
        typename V::mask gt1[U];
        for (std::size_t u = 0; u < U; ++u) {
          lin[u] = K::add(lin[u], c[u]);
          gt1[u] = a[u] > m1[u];
        }
        // m0 >= m1 in every lane, so where no lane's |c| beats its second strongest term,
        // nothing of the top two moves: most terms of a long model, once the row's strongest
        // terms have been seen.
        auto beat = gt1[0];
        for (std::size_t u = 1; u < U; ++u) beat = V::mask_or(beat, gt1[u]);
        if (V::bits(beat) == 0) continue;
        const num tid = V::broadcast(term.id);
        for (std::size_t u = 0; u < U; ++u) {
          const auto gt0 = a[u] > m0[u];
          i1[u] = V::select(gt0, i0[u], V::select(gt1[u], tid, i1[u]));
          m1[u] = V::select(gt0, m0[u], V::select(gt1[u], a[u], m1[u]));
          i0[u] = V::select(gt0, tid, i0[u]);
          m0[u] = V::select(gt0, a[u], m0[u]);
        }
      }
      for (std::size_t u = 0; u < U; ++u) {
        V::store(out + i + u * W,
                 sigmoid ? K::sigmoid_scale(lin[u], scale) : K::linear_scale(lin[u], scale));
        V::store(out0 + i + u * W, i0[u]);
        V::store(out1 + i + u * W, i1[u]);
      }
    };
    constexpr std::size_t kUnroll = W >= 8 ? 4 : 2;  // registers: 32 with AVX-512, else 16
    static_assert(64 % (kUnroll * W) == 0);
    auto all_rows = [&](auto masks) {
      std::size_t i = 0;
      for (; i + kUnroll * W <= len; i += kUnroll * W) {
        rows(i, std::integral_constant<std::size_t, kUnroll>{}, masks);
      }
      for (; i < len; i += W) rows(i, std::integral_constant<std::size_t, 1>{}, masks);
    };
    if (has_masks) {
      all_rows(std::true_type{});
    } else {
      all_rows(std::false_type{});
    }
  }

  // Runs instruction k (or the ladder it leads); returns how many instructions that was.
  template <std::size_t N>
  std::size_t instr(std::size_t k, std::size_t base, std::size_t len) const noexcept {
    const Instr& in = p_.code[k];
    // Ladders pay off where a mask word of each column fits in registers (AVX-512: 8 of 32);
    // narrower archs measured slower with them, and run the members one by one.
    if constexpr (W >= 8) {
      if (in.group > 1) {
        ladder<N>(&in, in.group, base, len);
        return in.group;
      }
    }
    step<N>(in, base, len);
    return 1;
  }

  // Instr::group comparisons in one pass: per mask word, the left column (and the fused
  // operand's column) is loaded once into registers and compared against each member's
  // constant.
  template <std::size_t N>
  void ladder(const Instr* ins, std::size_t count, std::size_t base,
              std::size_t len) const noexcept {
    auto by_op = [&](auto fop) {
      switch (ins[0].op) {
        case Op::kLt:
          return ladder_with<N>(ins, count, base, len, fop,
                                [](num a, num b) { return K::lt(a, b); });
        case Op::kLe:
          return ladder_with<N>(ins, count, base, len, fop,
                                [](num a, num b) { return K::le(a, b); });
        case Op::kGt:
          return ladder_with<N>(ins, count, base, len, fop,
                                [](num a, num b) { return K::gt(a, b); });
        case Op::kGe:
          return ladder_with<N>(ins, count, base, len, fop,
                                [](num a, num b) { return K::ge(a, b); });
        case Op::kEq:
          return ladder_with<N>(ins, count, base, len, fop,
                                [](num a, num b) { return K::eq(a, b); });
        default:
          return ladder_with<N>(ins, count, base, len, fop,
                                [](num a, num b) { return K::ne(a, b); });
      }
    };
    if (!ins[0].fused) return by_op(nullptr);
    switch (ins[0].fop) {
      case Op::kSub: return by_op([](num x, num y) { return K::sub(x, y); });
      case Op::kMul: return by_op([](num x, num y) { return K::mul(x, y); });
      case Op::kDiv: return by_op([](num x, num y) { return K::div(x, y); });
      default: return by_op([](num x, num y) { return K::add(x, y); });
    }
  }

  // fop: the fused arithmetic (right operand fop(b, constant)), or nullptr (right operand the
  // constant).
  template <std::size_t N, class FOp, class F>
  void ladder_with(const Instr* ins, std::size_t count, std::size_t base, std::size_t len_dyn,
                   FOp fop, F f) const noexcept {
    constexpr bool kFused = !std::is_same_v<FOp, std::nullptr_t>;
    const std::size_t len = N ? N : len_dyn;
    const Instr& in = ins[0];
    const double* a = src(in.a, base);
    const double* b = kFused ? src(in.b, base) : nullptr;
    const std::uint64_t* m = in.mask != kNoMask ? mreg(in.mask) : nullptr;
    std::uint64_t* d[kMaxGroup];
    double k[kMaxGroup];
    for (std::size_t g = 0; g < count; ++g) {
      d[g] = mreg(ins[g].dst);
      k[g] = kFused ? ins[g].c.imm : ins[g].b.imm;
    }
    auto rhs = [&](num y, num kg) {
      if constexpr (kFused) {
        return fop(y, kg);
      } else {
        (void)y;
        return kg;
      }
    };
    for (std::size_t w = 0; w * 64 < len; ++w) {
      // Read before any member writes: the last member's destination may be the mask.
      const std::uint64_t mw = m != nullptr ? m[w] : ~std::uint64_t{0};
      if (mw == 0) {
        for (std::size_t g = 0; g < count; ++g) d[g][w] = 0;
        continue;
      }
      const std::size_t row = w * 64;
      const std::size_t end = std::min<std::size_t>(64, len - row);
      auto load_rhs = [&](std::size_t j, num kg) {
        if constexpr (kFused) {
          return rhs(V::load(b + row + j), kg);
        } else {
          return kg;
        }
      };
      if (end == 64) {
        // The word's registers of each column stay in registers across the members.
        num xs[64 / W], ys[64 / W];
        for (std::size_t u = 0; u < 64 / W; ++u) {
          xs[u] = V::load(a + row + u * W);
          ys[u] = kFused ? V::load(b + row + u * W) : xs[u];
        }
        for (std::size_t g = 0; g < count; ++g) {
          const num kg = V::broadcast(k[g]);
          d[g][w] = V::word([&](std::size_t j) { return f(xs[j / W], rhs(ys[j / W], kg)); }) & mw;
        }
      } else {
        for (std::size_t g = 0; g < count; ++g) {
          const num kg = V::broadcast(k[g]);
          std::uint64_t bits = 0;
          for (std::size_t j = 0; j < end; j += W) {
            bits |= V::bits(f(V::load(a + row + j), load_rhs(j, kg))) << j;
          }
          d[g][w] = bits & mw;
        }
      }
    }
  }

  template <std::size_t N>
  void step(const Instr& in, std::size_t base, std::size_t len_dyn) const noexcept {
    const std::size_t len = N ? N : len_dyn;
    const std::size_t words = (len + 63) / 64;
    switch (in.op) {
      case Op::kAdd: return binary<N>(in, base, len, K::add);
      case Op::kSub: return binary<N>(in, base, len, K::sub);
      case Op::kMul: return binary<N>(in, base, len, K::mul);
      case Op::kDiv: return binary<N>(in, base, len, K::div);
      case Op::kMin: return binary<N>(in, base, len, K::min);
      case Op::kMax: return binary<N>(in, base, len, K::max);
      case Op::kSigmoidScale: return binary<N>(in, base, len, K::sigmoid_scale);
      case Op::kLinearScale: return binary<N>(in, base, len, K::linear_scale);
      case Op::kNeg: return unary<N>(in, base, len, K::neg);
      case Op::kAbs: return unary<N>(in, base, len, K::abs);
      case Op::kLog1p: return log1p<N>(in, base, len);
      case Op::kNanToZero: return unary<N>(in, base, len, K::nan_to_zero);
      case Op::kScaleNz: return scale_nz<N>(in, base, len);
      case Op::kMaskToNum: {
        const std::uint64_t* a = mreg(in.a.index);
        double* d = nreg(in.dst);
        for (std::size_t i = 0; i < len; i += W)
          V::store(d + i, V::from_bits(a[i / 64] >> (i % 64)));
        return;
      }
      case Op::kLt: return compare<N>(in, base, len, [](num a, num b) { return K::lt(a, b); });
      case Op::kLe: return compare<N>(in, base, len, [](num a, num b) { return K::le(a, b); });
      case Op::kGt: return compare<N>(in, base, len, [](num a, num b) { return K::gt(a, b); });
      case Op::kGe: return compare<N>(in, base, len, [](num a, num b) { return K::ge(a, b); });
      case Op::kEq: return compare<N>(in, base, len, [](num a, num b) { return K::eq(a, b); });
      case Op::kNe: return compare<N>(in, base, len, [](num a, num b) { return K::ne(a, b); });
      case Op::kAnd: {
        const std::uint64_t* a = mreg(in.a.index);
        const std::uint64_t* b = mreg(in.b.index);
        std::uint64_t* d = mreg(in.dst);
        for (std::size_t w = 0; w < words; ++w) d[w] = a[w] & b[w];
        return;
      }
      case Op::kOr: {
        const std::uint64_t* a = mreg(in.a.index);
        const std::uint64_t* b = mreg(in.b.index);
        std::uint64_t* d = mreg(in.dst);
        for (std::size_t w = 0; w < words; ++w) d[w] = a[w] | b[w];
        return;
      }
      case Op::kAndNot: {
        const std::uint64_t* a = mreg(in.a.index);
        const std::uint64_t* b = mreg(in.b.index);
        std::uint64_t* d = mreg(in.dst);
        for (std::size_t w = 0; w < words; ++w) d[w] = a[w] & ~b[w];
        return;
      }
      case Op::kNot: {
        const std::uint64_t* a = mreg(in.a.index);
        std::uint64_t* d = mreg(in.dst);
        for (std::size_t w = 0; w < words; ++w) d[w] = ~a[w];
        return;
      }
      case Op::kStrEq: return str_eq(in, base, len);
      case Op::kStrIn: return str_in(in, base, len);
      case Op::kStrEqField: return str_eq_field(in, base, len);
      case Op::kFlagged: {
        std::uint64_t* d = mreg(in.dst);
        const std::uint64_t* hits = args_.flag_bits[in.field];
        for (std::size_t w = 0; w < words; ++w) d[w] = hits != nullptr ? hits[base / 64 + w] : 0;
        return;
      }
      case Op::kMaskConst: {
        std::uint64_t* d = mreg(in.dst);
        for (std::size_t w = 0; w < words; ++w) d[w] = in.a.imm != 0 ? ~std::uint64_t{0} : 0;
        return;
      }
      case Op::kRulesOut: {
        const std::uint32_t* regs = p_.ids + in.aux;
        for (std::uint32_t r = 0; r < in.count; ++r) {
          const std::uint64_t* a = mreg(regs[r]);
          std::uint64_t* d = args_.rule_bits + r * args_.words_per_rule + base / 64;
          for (std::size_t w = 0; w < words; ++w) d[w] = a[w];
        }
        return;
      }
      case Op::kTop2Out: return top2(in, base, len);
      case Op::kModel: return model<N>(in, base, len);
      case Op::kModelOut: return copy_out(in, args_.model_out + base, base, len);
      case Op::kTermOut:
        return copy_out(in, args_.term_out + in.aux * args_.term_stride + base, base, len);
    }
  }

  const ProgramView& p_;
  const EvalArgs& args_;
};

// The split-block Bloom filter probe (kBloomSalt in program.h) of n keys of one field (seed):
// the scalar reference the per-arch probes of bloom_simd.h must match.
inline void bloom_probe_impl(const std::uint32_t* blocks, std::uint64_t block_mask,
                             const std::uint64_t* keys, std::uint64_t seed, std::size_t n,
                             std::uint8_t* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = flag_hash(seed, keys[i]);
    const std::uint32_t* block = blocks + ((h >> 32) & block_mask) * 8;
    const auto key = static_cast<std::uint32_t>(h);
    std::uint32_t missing = 0;
    for (int k = 0; k < 8; ++k) {
      const std::uint32_t bit = 1U << ((key * kBloomSalt[k]) >> 27);
      missing |= ~block[k] & bit;
    }
    out[i] = missing == 0 ? 1 : 0;
  }
}

}  // namespace
}  // namespace vigil::score
