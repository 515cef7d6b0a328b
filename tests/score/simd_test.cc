// Every arch against the scalar reference and against a direct AST interpreter: random rule
// expressions over random feature matrices full of NaNs, infinities and signed zeros, at every
// batch size (tail) from 0 to past two chunks.
#include <algorithm>
#include <array>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <random>

#include "score/compiler.h"
#include "score/cpu_features.h"
#include "score/dispatch.h"
#include "score/lanes_scalar.h"
#include "score/parser.h"
#include "score/program.h"
#include "score_test_util.h"
#include "vigil/score.h"

using namespace vigil;  // NOLINT: test file

namespace {

const std::vector<std::string> kNames =
    score_test::feature_names({"card_count_1h", "card_amt_avg_30d", "merchant_count_1h"});
const char* const kCategories[] = {"shopping_net", "misc_net", "grocery_pos", "gas_transport"};

class ExprGen {
 public:
  explicit ExprGen(std::uint64_t seed) : rng_(seed) {}

  std::string cond(int depth) {
    switch (pick(depth <= 0 ? 6 : 12)) {
      case 0: return num(depth - 1) + cmp() + num(depth - 1);
      case 1: return num(depth - 1) + cmp() + constant();
      case 2: return "in(category, [" + cat_lit() + ", " + cat_lit() + "])";
      case 3: return std::string("category ") + (pick(2) ? "==" : "!=") + " " + cat_lit();
      case 4: return std::string("flagged(") + (pick(2) ? "cc_num" : "merchant") + ")";
      case 5: return pick(2) ? "gender == \"F\"" : "city == state";
      case 6: return "(" + cond(depth - 1) + " && " + cond(depth - 1) + ")";
      case 7: return "(" + cond(depth - 1) + " || " + cond(depth - 1) + ")";
      case 8: return "!(" + cond(depth - 1) + ")";
      case 9: return "between(" + num(depth - 1) + ", " + constant() + ", " + constant() + ")";
      case 10: return "in(hour, [1, 2, 23])";
      default: return "!(" + cond(depth - 1) + ")";
    }
  }

  std::string num(int depth) {
    switch (pick(depth <= 0 ? 3 : 13)) {
      case 0:
      case 1: return kNames[pick(static_cast<int>(kNames.size()))];
      case 2: return constant();
      case 3: return "(" + num(depth - 1) + " + " + num(depth - 1) + ")";
      case 4: return "(" + num(depth - 1) + " - " + num(depth - 1) + ")";
      case 5: return "(" + num(depth - 1) + " * " + num(depth - 1) + ")";
      case 6: return "(" + num(depth - 1) + " / " + num(depth - 1) + ")";
      case 7: return "-" + num(depth - 1);
      case 8: return "abs(" + num(depth - 1) + ")";
      case 9: return "min(" + num(depth - 1) + ", " + num(depth - 1) + ")";
      case 10: return "max(" + num(depth - 1) + ", " + num(depth - 1) + ")";
      case 11: return "log1p(" + num(depth - 1) + ")";
      default: return "(" + constant() + " * " + constant() + ")";  // folds
    }
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  std::string cmp() {
    static const char* const ops[] = {" < ", " <= ", " > ", " >= ", " == ", " != "};
    return ops[pick(6)];
  }
  std::string constant() {
    static const char* const cs[] = {"0", "1", "2.5", "-3", "100", "1e3", "0.5", "22"};
    return cs[pick(8)];
  }
  std::string cat_lit() {
    if (pick(5) == 0) return "\"never_seen_category\"";
    return std::string("\"") + kCategories[pick(4)] + "\"";
  }
  std::mt19937_64 rng_;
};

// A direct interpreter of the typed AST: the semantics the program must implement.
struct Interp {
  const TransactionBatch& batch;
  const FeatureMatrix& features;
  const FlagSet& flags;
  const Dictionary& dict;

  std::uint32_t str(const score::Expr& e, std::size_t row, Field field) const {
    if (e.fn == score::Fn::kStrField) {
      if (e.field == Field::kGender) return static_cast<unsigned char>(batch.gender[row]);
      return static_cast<std::uint32_t>(batch.key(e.field, row));
    }
    if (field == Field::kGender) {
      return e.text.size() == 1 ? static_cast<unsigned char>(e.text[0]) : 0x100;
    }
    return dict.find(e.text).value_or(0xFFFFFFFF);
  }

  double num(const score::Expr& e, std::size_t row) const {
    using score::Fn;
    auto a = [&](std::size_t i) { return num(*e.args[i], row); };
    switch (e.fn) {
      case Fn::kNumber: return e.number;
      case Fn::kFeature: return features.at(row, e.column);
      case Fn::kAdd: return a(0) + a(1);
      case Fn::kSub: return a(0) - a(1);
      case Fn::kMul: return a(0) * a(1);
      case Fn::kDiv: return a(0) / a(1);
      case Fn::kNeg: return -a(0);
      case Fn::kAbs: return std::fabs(a(0));
      // vigil's log1p (fdlibm's algorithm, identical on every arch); its accuracy against
      // std::log1p is tested separately.
      case Fn::kLog1p: return score::apply_numeric(score::Op::kLog1p, a(0), 0);
      case Fn::kMin: {
        const double x = a(0), y = a(1);
        return std::isnan(x) || std::isnan(y) ? std::nan("") : (x < y ? x : y);
      }
      case Fn::kMax: {
        const double x = a(0), y = a(1);
        return std::isnan(x) || std::isnan(y) ? std::nan("") : (x > y ? x : y);
      }
      default: FAIL("not a number node"); return 0;
    }
  }

  bool cond(const score::Expr& e, std::size_t row) const {
    using score::Fn;
    auto n = [&](std::size_t i) { return num(*e.args[i], row); };
    auto c = [&](std::size_t i) { return cond(*e.args[i], row); };
    switch (e.fn) {
      case Fn::kLt: return n(0) < n(1);
      case Fn::kLe: return n(0) <= n(1);
      case Fn::kGt: return n(0) > n(1);
      case Fn::kGe: return n(0) >= n(1);
      case Fn::kEq:
      case Fn::kNe: {
        bool eq, ordered = true;
        if (e.args[0]->type == score::Type::kString) {
          const Field f = e.args[0]->fn == Fn::kStrField ? e.args[0]->field : e.args[1]->field;
          eq = str(*e.args[0], row, f) == str(*e.args[1], row, f);
        } else {
          const double x = n(0), y = n(1);
          eq = x == y;
          ordered = !std::isnan(x) && !std::isnan(y);
        }
        return e.fn == Fn::kEq ? eq : (ordered && !eq);
      }
      case Fn::kAnd: return c(0) && c(1);
      case Fn::kOr: return c(0) || c(1);
      case Fn::kNot: return !c(0);
      case Fn::kBetween: return n(0) >= n(1) && n(0) <= n(2);
      case Fn::kIn: {
        if (e.args[0]->type == score::Type::kString) {
          const Field f = e.args[0]->field;
          const std::uint32_t v = str(*e.args[0], row, f);
          for (const auto& s : e.strings) {
            score::Expr lit;
            lit.fn = Fn::kString;
            lit.text = s;
            if (str(lit, row, f) == v) return true;
          }
          return false;
        }
        const double v = n(0);
        for (double x : e.numbers) {
          if (v == x) return true;
        }
        return false;
      }
      case Fn::kFlagged:
        return flags.find(e.field, batch.key(e.field, row), batch.time[row]).has_value();
      default: FAIL("not a condition node"); return false;
    }
  }
};

double random_value(std::mt19937_64& rng) {
  static const double special[] = {std::nan(""),
                                   std::nan(""),
                                   0.0,
                                   -0.0,
                                   1.0,
                                   2.5,
                                   -3.0,
                                   100.0,
                                   1e3,
                                   22.0,
                                   std::numeric_limits<double>::infinity(),
                                   -1.0,
                                   0.5};
  if (rng() % 2 == 0) return special[rng() % std::size(special)];
  return static_cast<double>(static_cast<std::int64_t>(rng() % 4001) - 2000) / 8.0;
}

struct World {
  Dictionary dict;
  TransactionBatch batch{2 * score::kChunk};
  FeatureMatrix features{kNames.size(), 2 * score::kChunk};
  FlagSet flags;
  std::size_t rows = 0;

  explicit World(std::mt19937_64& rng, std::size_t n) : rows(n) {
    batch.set_size(n);
    features.set_rows(n);
    std::vector<StrId> cats;
    for (const char* c : kCategories) cats.push_back(dict.intern(c));
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < kNames.size(); ++j) features.column(j)[i] = random_value(rng);
      batch.category[i] = rng() % 5 == 0 ? kNoStr : cats[rng() % cats.size()];
      batch.city[i] = static_cast<StrId>(rng() % 3);
      batch.state[i] = static_cast<StrId>(rng() % 3);
      batch.gender[i] = "FM"[rng() % 2];
      batch.cc_num[i] = rng() % 40;
      batch.merchant[i] = static_cast<StrId>(rng() % 40);
      batch.time[i] = static_cast<Micros>(rng() % 100);
    }
    for (std::uint64_t k = 0; k < 40; k += 3) {
      FlagChange c;
      c.entity = k % 2 ? Field::kCcNum : Field::kMerchant;
      c.key = k;
      c.time = static_cast<Micros>(k);
      c.until = static_cast<Micros>(50 + k);
      flags.apply(c);
    }
  }
};

// The interpreter's ASTs of a config's rule conditions and of its model terms.
std::vector<std::unique_ptr<score::Expr>> rule_asts(const Config& c) {
  std::vector<std::unique_ptr<score::Expr>> asts;
  for (const auto& r : c.rules) {
    score::ParseError pe;
    asts.push_back(score::parse_condition(r.when, score::NameScope{kNames}, pe));
    REQUIRE(asts.back());
  }
  return asts;
}
std::vector<std::unique_ptr<score::Expr>> term_asts(const Config& c) {
  std::vector<std::unique_ptr<score::Expr>> asts;
  for (const auto& t : c.model.terms) {
    score::ParseError pe;
    asts.push_back(score::parse_term(t.feature, score::NameScope{kNames}, pe));
    REQUIRE(asts.back());
  }
  return asts;
}

}  // namespace

TEST_CASE("random rules: every arch == scalar == AST interpreter, every tail", "[score][simd]") {
  std::mt19937_64 rng(20240611);
  const auto archs = available_score_archs();
  INFO("archs: " << archs.size());
  constexpr std::size_t kRows = score::kChunk + 74;  // past one chunk
  for (int round = 0; round < 25; ++round) {
    World w(rng, kRows);
    ExprGen gen(rng());
    Config c;
    constexpr int kRules = 9;  // scores 1, 2, 4, … 256: the total names the fired set
    for (int r = 0; r < kRules; ++r) {
      c.rules.push_back(score_test::rule("R" + std::to_string(r), gen.cond(3), 1 << r));
    }
    auto scalar = Scorer::compile(c, kNames, w.dict, {ScoreArch::kScalar});
    INFO(scalar.status().to_string());
    REQUIRE(scalar.ok());

    // Expected from the interpreter.
    const auto asts = rule_asts(c);
    Interp interp{w.batch, w.features, w.flags, w.dict};
    std::vector<Decision> want(kRows);
    for (std::size_t i = 0; i < kRows; ++i) {
      for (int r = kRules; r-- > 0;) {
        if (!interp.cond(*asts[r], i)) continue;
        want[i].score += 1 << r;
        if (want[i].reason_count < Decision::kMaxReasons) {
          want[i].reasons[want[i].reason_count++] = static_cast<ReasonCode>(r);
        }
      }
      want[i].action = want[i].score >= 800   ? Action::kDecline
                       : want[i].score >= 500 ? Action::kReview
                                              : Action::kApprove;
    }

    for (ScoreArch a : archs) {
      auto s = scalar->with_arch(a);
      REQUIRE(s.ok());
      ScoreScratch scratch;
      std::vector<Decision> out(kRows);
      for (std::size_t n = 0; n <= kRows; n += (a == ScoreArch::kScalar ? 7 : 1)) {
        w.batch.set_size(n);
        std::fill(out.begin(), out.end(), Decision{});
        REQUIRE(s->score(w.batch, w.features, w.flags, scratch, out).ok());
        for (std::size_t i = 0; i < n; ++i) {
          if (!(out[i] == want[i])) {
            FAIL_CHECK("arch " << s->arch_name() << " n=" << n << " row " << i << " score "
                               << out[i].score << " want " << want[i].score << "\n"
                               << s->dump_program());
            for (const auto& r : c.rules) UNSCOPED_INFO(r.id << ": " << r.when);
            return;
          }
        }
      }
    }
  }
}

TEST_CASE("model linear term is bit-identical on every arch", "[score][simd]") {
  std::mt19937_64 rng(99);
  World w(rng, 300);
  Config c;
  c.model.kind = ModelSpec::Kind::kLogistic;
  c.model.bias = -1.25;
  c.model.scale = 1000;
  for (std::size_t j = 0; j < kNames.size(); ++j) {
    c.model.terms.push_back({kNames[j], 0.001 * static_cast<double>(j + 1) - 0.004,
                             j % 2 ? 0.0 : 3.5, j % 3 ? 1.0 : 7.25});
  }
  c.rules.push_back(score_test::rule("LOG", "log1p(abs(amt)) > 3", 10));
  // Replace infinities: inf·0 in a term is NaN, then 0; keep some anyway.
  auto scalar = Scorer::compile(c, kNames, w.dict, {ScoreArch::kScalar});
  REQUIRE(scalar.ok());
  std::vector<Decision> ref(300);
  REQUIRE(scalar->score(w.batch, w.features, w.flags, ref).ok());
  for (std::size_t i = 0; i < 300; ++i) {
    double lin = c.model.bias;
    for (std::size_t j = 0; j < kNames.size(); ++j) {
      const auto& t = c.model.terms[j];
      double z = w.features.at(i, j);
      if (t.mean != 0) z = z - t.mean;
      if (t.std != 1) z = z / t.std;
      double term = z * t.weight;
      if (std::isnan(term)) term = 0;
      lin = lin + term;
    }
    double m = 1000 / (1.0 + std::exp(-lin));
    if (std::isnan(m)) m = 0;
    const double rules =
        score::apply_numeric(score::Op::kLog1p, std::fabs(w.features.at(i, 0)), 0) > 3 ? 10 : 0;
    REQUIRE(ref[i].score == static_cast<int>(std::clamp(std::round(rules + m), 0.0, 1000.0)));
  }
  for (ScoreArch a : available_score_archs()) {
    auto s = scalar->with_arch(a);
    REQUIRE(s.ok());
    std::vector<Decision> out(300);
    REQUIRE(s->score(w.batch, w.features, w.flags, out).ok());
    INFO(s->arch_name());
    CHECK(out == ref);
  }
}

TEST_CASE("log1p is within 1 ulp of std::log1p and exact at the edges", "[score][simd]") {
  auto f = [](double x) { return score::apply_numeric(score::Op::kLog1p, x, 0); };
  std::mt19937_64 rng(5);
  auto ulps = [](double a, double b) {
    const auto ia = std::bit_cast<std::int64_t>(a), ib = std::bit_cast<std::int64_t>(b);
    return ia > ib ? ia - ib : ib - ia;
  };
  std::int64_t worst = 0;
  for (int i = 0; i < 200000; ++i) {
    // Log-uniform magnitudes from 1e-300 to 1e300, and the interval (-1, 0).
    const double mag = std::pow(10.0, static_cast<double>(rng() % 600000) / 1000.0 - 300.0);
    const double x = i % 3 == 0 ? -static_cast<double>(rng() % 1000000) / 1000001.0 : mag;
    const double got = f(x), want = std::log1p(x);
    REQUIRE(std::isfinite(got));
    worst = std::max(worst, ulps(got, want));
  }
  CHECK(worst <= 1);
  CHECK(f(0.0) == 0.0);
  CHECK(std::signbit(f(-0.0)));
  CHECK(f(1e-300) == 1e-300);
  CHECK(f(-1.0) == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(f(-1.5)));
  CHECK(std::isnan(f(std::nan(""))));
  CHECK(f(std::numeric_limits<double>::infinity()) == std::numeric_limits<double>::infinity());
  CHECK(f(std::exp(1.0) - 1) == std::log1p(std::exp(1.0) - 1));
}

TEST_CASE("log1p's split around sqrt 2 equals fdlibm's compare-and-halve", "[score][simd]") {
  // fdlibm: m in [1, 2) from the bits, then m > sqrt(2) ? (m / 2, e + 1) : (m, e).
  auto fdlibm = [](double u, double& m, double& e) {
    const auto bits = std::bit_cast<std::uint64_t>(u);
    m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL);
    e = std::bit_cast<double>((bits >> 52) | 0x4330000000000000ULL) - 4503599627371519.0;
    if (m > 1.41421356237309504880) {
      m *= 0.5;
      e += 1.0;
    }
  };
  auto same = [&](double u) {
    double m0, e0, m1, e1;
    fdlibm(u, m0, e0);
    score::ScalarLanes::split_sqrt2(u, m1, e1);
    return std::bit_cast<std::uint64_t>(m0) == std::bit_cast<std::uint64_t>(m1) &&
           std::bit_cast<std::uint64_t>(e0) == std::bit_cast<std::uint64_t>(e1);
  };
  // Every exponent of a positive normal u, mantissas around sqrt(2)'s and at the ends.
  for (std::uint64_t exp = 1; exp < 2047; ++exp) {
    for (std::int64_t d = -64; d <= 64; ++d) {
      const std::uint64_t mant = static_cast<std::uint64_t>(0x6A09E667F3BCDLL + d);
      REQUIRE(same(std::bit_cast<double>(exp << 52 | mant)));
    }
    for (const std::uint64_t mant : {0ULL, 1ULL, 0x8000000000000ULL, 0xFFFFFFFFFFFFFULL}) {
      REQUIRE(same(std::bit_cast<double>(exp << 52 | mant)));
    }
  }
  std::mt19937_64 rng(11);
  for (int i = 0; i < 1000000; ++i) {
    const double u = std::bit_cast<double>(rng() >> 1);  // positive
    if (std::isnormal(u)) REQUIRE(same(u));
  }
}

TEST_CASE("random model terms: every arch == scalar, values == AST interpreter", "[score][simd]") {
  std::mt19937_64 rng(777);
  constexpr std::size_t kRows = score::kChunk + 44;  // past one chunk
  auto same = [](double a, double b) {
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b) ||
           (std::isnan(a) && std::isnan(b));
  };
  for (int round = 0; round < 10; ++round) {
    World w(rng, kRows);
    ExprGen gen(rng());
    Config c;
    c.model.kind = round % 3 == 2 ? ModelSpec::Kind::kLinear : ModelSpec::Kind::kLogistic;
    c.model.bias = -2.5;
    c.model.scale = round % 3 == 2 ? 400 : 900;
    for (int t = 0; t < 8; ++t) {
      const std::string text = t % 2 ? gen.cond(2) : gen.num(2);
      c.model.terms.push_back({text, 0.25 * (t - 3), t % 3 ? 0.0 : 1.5, t % 4 ? 1.0 : 3.0});
    }
    for (int r = 0; r < 4; ++r) {
      c.rules.push_back(score_test::rule("R" + std::to_string(r), gen.cond(2), 100 + r));
    }
    auto scalar = Scorer::compile(c, kNames, w.dict, {ScoreArch::kScalar});
    INFO(scalar.status().to_string());
    REQUIRE(scalar.ok());
    const auto asts = term_asts(c);
    Interp interp{w.batch, w.features, w.flags, w.dict};
    std::vector<Decision> ref(kRows);
    ScoreScratch scratch;
    REQUIRE(scalar->score(w.batch, w.features, w.flags, scratch, ref).ok());
    for (ScoreArch a : available_score_archs()) {
      auto s = scalar->with_arch(a);
      REQUIRE(s.ok());
      INFO(s->arch_name());
      for (std::size_t n : {kRows, std::size_t{1}, std::size_t{7}, std::size_t{257}, score::kChunk,
                            score::kChunk + 1}) {
        w.batch.set_size(n);
        std::vector<Decision> out(n);
        REQUIRE(s->score(w.batch, w.features, w.flags, scratch, out).ok());
        for (std::size_t i = 0; i < n; ++i) REQUIRE(out[i] == ref[i]);
        FeatureMatrix values;
        REQUIRE(s->evaluate_terms(w.batch, w.features, w.flags, scratch, values).ok());
        REQUIRE(values.rows() == n);
        for (std::size_t t = 0; t < asts.size(); ++t) {
          for (std::size_t i = 0; i < n; ++i) {
            const double want = asts[t]->type == score::Type::kBool
                                    ? (interp.cond(*asts[t], i) ? 1.0 : 0.0)
                                    : interp.num(*asts[t], i);
            if (!same(values.at(i, t), want)) {
              FAIL("term " << c.model.terms[t].feature << " row " << i << " got " << values.at(i, t)
                           << " want " << want);
            }
          }
        }
      }
      w.batch.set_size(kRows);
    }
  }
}

TEST_CASE("an arch is available only when the CPU has every extension its unit is built with",
          "[score][simd]") {
  const std::uint64_t cpu = score::cpu_features();
  auto has = [&](std::uint64_t need) { return (cpu & need) == need; };
  // What sources.cmake compiles each unit with, as the units report it.
  const std::uint64_t sse42 = score::target_features(ScoreArch::kSse42);
  const std::uint64_t avx2 = score::target_features(ScoreArch::kAvx2);
  const std::uint64_t avx512 = score::target_features(ScoreArch::kAvx512);
  CHECK((sse42 & score::kCpuSse42) != 0);
  CHECK((sse42 & score::kCpuPopcnt) != 0);  // GCC's -msse4.2 implies it
  CHECK((sse42 & score::kCpuAvx) == 0);
  CHECK((avx2 & (score::kCpuAvx | score::kCpuAvx2)) == (score::kCpuAvx | score::kCpuAvx2));
  CHECK((avx2 & score::kCpuAvx512F) == 0);
  if (avx512 != 0) {
    const std::uint64_t all = score::kCpuAvx512F | score::kCpuAvx512Dq | score::kCpuAvx512Bw |
                              score::kCpuAvx512Vl | score::kCpuAvx512Cd;
    CHECK((avx512 & all) == all);
  }
  for (ScoreArch a : {ScoreArch::kSse42, ScoreArch::kAvx2, ScoreArch::kAvx512}) {
    const std::uint64_t need = score::target_features(a);
    INFO(score_arch_name(a));
    if (a == ScoreArch::kAvx512 && need == 0) continue;  // not in this build
    CHECK(score::arch_available(a) == has(need));
  }
  const auto archs = available_score_archs();
  REQUIRE(!archs.empty());
  CHECK(archs.front() == ScoreArch::kScalar);
  CHECK(score::best_arch() == archs.back());
}

// The whole decision (rule sums in reason order, a linear model, rounding, thresholds, reasons
// with the model's top terms) against a direct reference of the documented semantics, on every
// arch and tail: rows with and without fired rules take different paths in Scorer::score.
TEST_CASE("decisions with rules and a model == reference, every arch and tail", "[score][simd]") {
  std::mt19937_64 rng(4242);
  constexpr std::size_t kRows = score::kChunk + 88;  // past one chunk
  int one_pass_rounds = 0;
  for (int round = 0; round < 12; ++round) {
    World w(rng, kRows);
    // Fewer special values in the model's inputs, so that scores spread over 0..1000.
    for (std::size_t j = 0; j < kNames.size(); ++j) {
      for (std::size_t i = 0; i < kRows; ++i) {
        if (rng() % 3 != 0) w.features.column(j)[i] = static_cast<double>(rng() % 2001) / 4.0;
      }
    }
    ExprGen gen(rng());
    Config c;
    const int rules = 1 + static_cast<int>(rng() % 10);
    for (int r = 0; r < rules; ++r) {
      // Halves and negatives exercise the rounding and the clamp; equal scores the tie order.
      const double score = static_cast<double>(static_cast<int>(rng() % 41) - 8) * 12.5;
      std::string when = gen.cond(2);
      if (rng() % 4 != 0) {  // most rows should fire no rule, as in real traffic
        when = "(" + when + ") && " + kNames[rng() % kNames.size()] + " > " +
               std::to_string(300 + rng() % 200);
      }
      c.rules.push_back(score_test::rule("R" + std::to_string(r), when, score));
    }
    c.model.kind = round % 2 ? ModelSpec::Kind::kLinear : ModelSpec::Kind::kLogistic;
    c.model.bias = static_cast<double>(static_cast<int>(rng() % 9) - 4) / 8.0;
    c.model.scale = static_cast<double>(rng() % 1200);
    // No terms; a few or many, half of them conditions (the one-pass model); more than
    // kMaxModelTerms or a constant term (the general instructions). Terms are columns,
    // expressions or conditions.
    const std::size_t terms = round % 6 == 5   ? 0
                              : round % 6 == 4 ? score::kMaxModelTerms + 3
                              : round % 6 == 2 ? score::kMaxModelTerms - rng() % 30
                                               : 1 + rng() % 6;
    for (std::size_t t = 0; t < terms; ++t) {
      std::string text = kNames[rng() % kNames.size()];
      if (round % 6 == 2 && rng() % 2 == 0) text = gen.cond(1);
      if (rng() % 4 == 0) text = rng() % 2 ? gen.cond(1) : gen.num(2);
      if (round % 6 == 3 && t == 1) text = "2.5";
      c.model.terms.push_back({text, static_cast<double>(static_cast<int>(rng() % 9) - 4) / 400.0,
                               rng() % 2 ? 0.0 : 100.0, rng() % 2 ? 1.0 : 4.0});
    }
    c.thresholds.review = static_cast<std::int32_t>(rng() % 700) - 50;
    c.thresholds.decline = c.thresholds.review + static_cast<std::int32_t>(rng() % 400);
    auto scalar = Scorer::compile(c, kNames, w.dict, {ScoreArch::kScalar});
    INFO(scalar.status().to_string());
    REQUIRE(scalar.ok());

    const auto asts = rule_asts(c);
    const bool one_pass = scalar->dump_program().find("top2 <- terms:") != std::string::npos;
    one_pass_rounds += one_pass;
    if (terms == 0 || terms > score::kMaxModelTerms || (round % 6 == 3 && terms > 1)) {
      CHECK_FALSE(one_pass);
    }
    const auto terms_ast = term_asts(c);
    std::vector<std::uint32_t> order(c.rules.size());
    std::iota(order.begin(), order.end(), 0U);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return c.rules[a].score > c.rules[b].score;
    });
    Interp interp{w.batch, w.features, w.flags, w.dict};
    std::vector<Decision> want(kRows);
    int with_rule = 0, model_first = 0;
    for (std::size_t i = 0; i < kRows; ++i) {
      Decision& d = want[i];
      double rule_sum = 0;
      for (std::uint32_t r : order) {
        if (!interp.cond(*asts[r], i)) continue;
        rule_sum += c.rules[r].score;
        if (d.reason_count < Decision::kMaxReasons) d.reasons[d.reason_count++] = r;
      }
      with_rule += d.reason_count != 0;
      double lin = c.model.bias, m0 = 0, m1 = 0;
      int i0 = -1, i1 = -1;
      for (std::size_t t = 0; t < terms; ++t) {
        const auto& term = c.model.terms[t];
        double z = terms_ast[t]->type == score::Type::kBool
                       ? (interp.cond(*terms_ast[t], i) ? 1.0 : 0.0)
                       : interp.num(*terms_ast[t], i);
        if (term.mean != 0) z = z - term.mean;
        double contrib = z * (term.weight / term.std);
        if (std::isnan(contrib)) contrib = 0;
        lin = lin + contrib;
        const double a = std::fabs(contrib);
        if (a > m0) {
          i1 = i0, m1 = m0, i0 = static_cast<int>(t), m0 = a;
        } else if (a > m1) {
          i1 = static_cast<int>(t), m1 = a;
        }
      }
      // vigil's own exp (fdlibm's), the same on every arch.
      const double ms =
          score::apply_numeric(c.model.kind == ModelSpec::Kind::kLogistic ? score::Op::kSigmoidScale
                                                                          : score::Op::kLinearScale,
                               lin, c.model.scale);
      d.score = static_cast<std::int32_t>(std::round(std::clamp(rule_sum + ms, 0.0, 1000.0)));
      d.action = d.score >= c.thresholds.decline  ? Action::kDecline
                 : d.score >= c.thresholds.review ? Action::kReview
                                                  : Action::kApprove;
      if (terms == 0 || !(ms > 0) || i0 < 0) continue;
      if (d.reason_count != 0 && !(ms > c.rules[d.reasons[0]].score)) continue;
      const std::size_t k = i1 < 0 ? 1 : 2;
      const std::size_t keep = std::min<std::size_t>(d.reason_count, Decision::kMaxReasons - k);
      std::array<ReasonCode, Decision::kMaxReasons> reasons{};
      reasons[0] = static_cast<ReasonCode>(kModelReasonBase + i0);
      if (k == 2) reasons[1] = static_cast<ReasonCode>(kModelReasonBase + i1);
      std::copy_n(d.reasons.begin(), keep, reasons.begin() + static_cast<std::ptrdiff_t>(k));
      d.reasons = reasons;
      d.reason_count = static_cast<std::uint8_t>(keep + k);
      model_first += d.reason_count > k;
    }
    INFO("round " << round << ": " << with_rule << " rows fire a rule, " << model_first
                  << " lead with the model");
    for (ScoreArch a : available_score_archs()) {
      auto s = scalar->with_arch(a);
      REQUIRE(s.ok());
      ScoreScratch scratch;
      std::vector<Decision> out(kRows);
      for (std::size_t n = 0; n <= kRows; n += (a == ScoreArch::kScalar ? 5 : 1)) {
        w.batch.set_size(n);
        // Stale decisions from the previous size must not leak into this one.
        std::fill(out.begin(), out.end(), Decision{7, Action::kDecline, 6, {1, 2, 3, 4, 5, 6}});
        REQUIRE(s->score(w.batch, w.features, w.flags, scratch, out).ok());
        for (std::size_t i = 0; i < n; ++i) {
          if (!(out[i] == want[i])) {
            FAIL("arch " << s->arch_name() << " n=" << n << " row " << i << " score "
                         << out[i].score << " want " << want[i].score << ", reasons "
                         << int{out[i].reason_count} << " want " << int{want[i].reason_count});
          }
        }
      }
      w.batch.set_size(kRows);
    }
  }
  CHECK(one_pass_rounds >= 4);  // kModel, against the same reference
}

// Threshold ladders (Instr::group): comparisons of one column against several constants, or
// against one column times several constants, under one mask, evaluated as one pass on
// AVX-512 and one by one elsewhere: every arch == the AST interpreter, every tail.
TEST_CASE("threshold ladders: every arch == AST interpreter, every tail", "[score][simd]") {
  std::mt19937_64 rng(31337);
  constexpr std::size_t kRows = score::kChunk + 70;
  const char* const ops[] = {" < ", " <= ", " > ", " >= ", " == ", " != "};
  const char* const ks[] = {"0", "1", "2.5", "-3", "100", "22", "0.5", "-0"};
  int ladders = 0;
  for (int round = 0; round < 16; ++round) {
    World w(rng, kRows);
    ExprGen gen(rng());
    Config c;
    const std::string x = kNames[rng() % kNames.size()], y = kNames[rng() % kNames.size()];
    const std::string op = ops[rng() % 6];
    // Gate: none, a random condition, or (round 3 mod 4) a comparison on the same column
    // that is itself the mask the last member may overwrite.
    const std::string gate = round % 4 == 0   ? ""
                             : round % 4 == 3 ? " && " + x + " > " + ks[rng() % 8]
                                              : " && " + gen.cond(1);
    for (int r = 0; r < 9; ++r) {
      std::string when = r < 5 ? x + op + ks[rng() % 8] + gate
                               : x + op + "(" + y + " * " + ks[rng() % 8] + ")" + gate;
      c.rules.push_back(score_test::rule("R" + std::to_string(r), when, 1 << r));
    }
    auto scalar = Scorer::compile(c, kNames, w.dict, {ScoreArch::kScalar});
    INFO(scalar.status().to_string());
    REQUIRE(scalar.ok());
    const auto asts = rule_asts(c);
    std::vector<const score::Expr*> roots;
    std::vector<std::string> ids;
    for (std::size_t r = 0; r < c.rules.size(); ++r) {
      roots.push_back(asts[r].get());
      ids.push_back(c.rules[r].id);
    }
    const score::CompiledProgram prog = score::generate(roots, {}, kNames, ids, w.dict);
    for (std::size_t k = 0; k < prog.code.size(); ++k) {
      const score::Instr& in = prog.code[k];
      if (in.group <= 1) continue;
      ++ladders;
      REQUIRE(k + in.group <= prog.code.size());
      for (std::size_t i = k; i + 1 < k + in.group; ++i) CHECK(prog.code[i].dst != in.mask);
    }
    Interp interp{w.batch, w.features, w.flags, w.dict};
    std::vector<Decision> want(kRows);
    for (std::size_t i = 0; i < kRows; ++i) {
      for (int r = 8; r >= 0; --r) {
        if (!interp.cond(*asts[r], i)) continue;
        want[i].score += 1 << r;
        if (want[i].reason_count < Decision::kMaxReasons) {
          want[i].reasons[want[i].reason_count++] = static_cast<ReasonCode>(r);
        }
      }
      want[i].action = want[i].score >= 800   ? Action::kDecline
                       : want[i].score >= 500 ? Action::kReview
                                              : Action::kApprove;
    }
    for (ScoreArch a : available_score_archs()) {
      auto s = scalar->with_arch(a);
      REQUIRE(s.ok());
      ScoreScratch scratch;
      std::vector<Decision> out(kRows);
      for (std::size_t n = 0; n <= kRows; n += (a == ScoreArch::kScalar ? 9 : 1)) {
        w.batch.set_size(n);
        REQUIRE(s->score(w.batch, w.features, w.flags, scratch, out).ok());
        for (std::size_t i = 0; i < n; ++i) {
          if (!(out[i] == want[i])) {
            FAIL("arch " << s->arch_name() << " n=" << n << " row " << i << " score "
                         << out[i].score << " want " << want[i].score << "\n"
                         << s->dump_program());
          }
        }
      }
      w.batch.set_size(kRows);
    }
  }
  CHECK(ladders >= 16);
}
