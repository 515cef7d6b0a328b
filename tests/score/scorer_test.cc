// Scorer: folding and sharing in the program, scores, model combination, reasons, arch choice.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>

#include "score/program.h"
#include "score_test_util.h"
#include "vigil/score.h"

using namespace vigil;  // NOLINT: test file
using score_test::feature_names;
using score_test::rule;

namespace {

const std::vector<std::string> kNames = feature_names({"card_count_1h", "card_amt_avg_30d"});
constexpr std::size_t kAmt = 0, kHour = 1, kCount = 9, kAvg = 10;
const double kNaN = std::nan("");

struct Fixture {
  Dictionary dict;
  TransactionBatch batch{16};
  FeatureMatrix features{kNames.size(), 16};
  FlagSet flags;

  void rows(std::size_t n) {
    batch.set_size(n);
    features.set_rows(n);
    for (std::size_t j = 0; j < kNames.size(); ++j) {
      for (std::size_t i = 0; i < n; ++i) features.column(j)[i] = kNaN;
    }
  }
  std::vector<Decision> run(const Scorer& s) {
    std::vector<Decision> out(batch.size());
    REQUIRE(s.score(batch, features, flags, out).ok());
    return out;
  }
};

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("constant folding and common sub-expressions show in the program", "[score]") {
  Dictionary dict;
  Config c;
  c.rules.push_back(rule("BIG", "amt > 2 * 250", 100));
  c.rules.push_back(rule("BIG_NIGHT", "amt > 500 && (hour >= 22 || hour < 4)", 200));
  c.rules.push_back(rule("NIGHT_BURST", "(hour < 4 || hour >= 22) && card_count_1h >= 1 + 2", 300));
  c.rules.push_back(rule("NET", "in(category, [\"misc_net\", \"shopping_net\"]) && amt > 500", 50));
  c.rules.push_back(rule("NET2", "in(category, ['shopping_net', 'misc_net'])", 10));
  c.rules.push_back(rule("NEVER", "1 > 2 && amt > 1", 10));
  auto s = Scorer::compile(c, kNames, dict);
  REQUIRE(s.ok());
  const std::string dump = s->dump_program();
  INFO(dump);
  CHECK(count(dump, "gt amt, 500") == 1);  // folded 2 * 250, shared by 3 rules
  CHECK(count(dump, "ge hour, 22") == 1);  // shared, operand order normalized
  CHECK(count(dump, "lt hour, 4") == 1);
  CHECK(count(dump, " = or ") == 1);                   // the night window, once
  CHECK(count(dump, "ge card_count_1h, 3") == 1);      // 1 + 2 folded
  CHECK(count(dump, "str_in category") == 1);          // same list in another order
  CHECK(count(dump, "mask_const false") == 1);         // NEVER folded away
  CHECK(count(dump, "ge card_count_1h, 3 & m") == 1);  // compare fused into its &&
  CHECK(s->instruction_count() == 9 + 1);              // 9 operations, 1 output of the 6 rules
  CHECK(dict.find("shopping_net").has_value());        // literals interned at compile time
}

TEST_CASE("rules fire, scores add, thresholds classify", "[score]") {
  Fixture f;
  Config c;
  c.rules.push_back(rule("BIG", "amt > 500", 300, "large amount"));
  c.rules.push_back(rule("NIGHT", "hour >= 22 || hour < 4", 250, "night"));
  c.rules.push_back(rule("NET", "category == \"shopping_net\"", 400, "online"));
  c.rules.push_back(rule("NOT_SMALL", "!(amt < 10)", 1, "missing counts as not small"));
  c.rules.push_back(rule("NE", "amt != 42", 2));
  c.thresholds = {500, 800};
  auto s = Scorer::compile(c, kNames, f.dict);
  REQUIRE(s.ok());
  f.rows(4);
  const StrId net = *f.dict.find("shopping_net");
  f.features.column(kAmt)[0] = 900;  // BIG + NOT_SMALL + NE
  f.features.column(kHour)[0] = 12;
  f.features.column(kAmt)[1] = 900;  // BIG + NIGHT + NET + ...
  f.features.column(kHour)[1] = 23;
  f.batch.category[1] = net;
  f.features.column(kAmt)[2] = 5;  // NE only
  f.features.column(kHour)[2] = 10;
  // row 3: everything missing: NOT_SMALL fires (!(NaN < 10)), NE does not.
  auto out = f.run(*s);
  CHECK(out[0].score == 303);
  CHECK(out[0].action == Action::kApprove);
  CHECK(out[1].score == 953);
  CHECK(out[1].action == Action::kDecline);
  REQUIRE(out[1].reason_count == 5);
  CHECK(out[1].reasons[0] == 2);  // NET 400
  CHECK(out[1].reasons[1] == 0);  // BIG 300
  CHECK(out[1].reasons[2] == 1);  // NIGHT 250
  CHECK(out[1].reasons[3] == 4);  // NE 2
  CHECK(out[1].reasons[4] == 3);  // NOT_SMALL 1
  CHECK(out[2].score == 2);
  CHECK(out[3].score == 1);
  CHECK(s->reason_id(2) == "NET");
  CHECK(s->reason_text(0) == "large amount");
  CHECK(s->reason_id(99).empty());
}

TEST_CASE("logistic model combines deterministically, reasons when it dominates", "[score]") {
  Fixture f;
  Config c;
  c.rules.push_back(rule("BIG", "amt > 500", 100));
  c.model.kind = ModelSpec::Kind::kLogistic;
  c.model.bias = -7;
  c.model.scale = 600;
  c.model.terms.push_back({"amt", 0.004, 0, 1});
  c.model.terms.push_back({"card_count_1h", 0.6, 1, 2});
  c.model.terms.push_back({"hour", 0.01, 0, 1});
  auto s = Scorer::compile(c, kNames, f.dict);
  REQUIRE(s.ok());
  CHECK(s->model_terms() == 3);
  f.rows(3);
  f.features.column(kAmt)[0] = 1200;
  f.features.column(kCount)[0] = 7;
  f.features.column(kHour)[0] = 3;
  f.features.column(kAmt)[1] = 20;  // count and hour missing: contribute 0
  // row 2: all missing: p = sigmoid(-7)
  auto out = f.run(*s);
  auto expect = [&](double lin, double rules) {
    const double p = 1.0 / (1.0 + std::exp(-lin));
    return static_cast<int>(std::clamp(std::round(rules + 600 * p), 0.0, 1000.0));
  };
  const double lin0 = ((-7.0 + 1200 * 0.004) + ((7 - 1) / 2.0) * 0.6) + 3 * 0.01;
  CHECK(out[0].score == expect(lin0, 100));
  CHECK(out[1].score == expect(-7.0 + 20 * 0.004, 0));
  CHECK(out[2].score == expect(-7.0, 0));
  // Row 0: model 600·sigmoid(-0.37) ≈ 245 > BIG's 100, so the top two terms lead:
  // |amt| 4.8 > |count| 1.8 > |hour| 0.03.
  REQUIRE(out[0].reason_count == 3);
  CHECK(out[0].reasons[0] == kModelReasonBase + 0);
  CHECK(out[0].reasons[1] == kModelReasonBase + 1);
  CHECK(out[0].reasons[2] == 0);
  CHECK(s->reason_id(kModelReasonBase + 1) == "card_count_1h");
  CHECK(s->reason_text(kModelReasonBase) == "model: amt");
  // Row 2: nothing present, nothing to name.
  CHECK(out[2].reason_count == 0);
}

TEST_CASE("scores clamp to 0..1000 and negative rules subtract", "[score]") {
  Fixture f;
  Config c;
  c.rules.push_back(rule("HUGE", "amt > 0", 900));
  c.rules.push_back(rule("HUGE2", "amt > 1", 900));
  c.rules.push_back(rule("TRUSTED", "amt < 0", -300));
  auto s = Scorer::compile(c, kNames, f.dict);
  REQUIRE(s.ok());
  f.rows(2);
  f.features.column(kAmt)[0] = 5;
  f.features.column(kAmt)[1] = -5;
  auto out = f.run(*s);
  CHECK(out[0].score == 1000);
  CHECK(out[0].action == Action::kDecline);
  CHECK(out[1].score == 0);
  REQUIRE(out[1].reason_count == 1);
  CHECK(out[1].reasons[0] == 2);
}

TEST_CASE("flagged() rules see the join, hits go to the sink list", "[score]") {
  Fixture f;
  Config c;
  c.rules.push_back(rule("FLAGGED_CARD", "flagged(cc_num)", 1000, "card is on the flagged list"));
  auto s = Scorer::compile(c, kNames, f.dict);
  REQUIRE(s.ok());
  REQUIRE(s->flagged_fields().size() == 1);
  FlagSpec spec;
  spec.entity = Field::kCcNum;
  spec.id = "2703186189652095";
  spec.until = 1000;
  spec.reason = "reported stolen";
  REQUIRE(f.flags.add(spec, f.dict).ok());
  f.rows(3);
  f.batch.cc_num[0] = 2703186189652095;
  f.batch.time[0] = 999;
  f.batch.cc_num[1] = 2703186189652095;
  f.batch.time[1] = 1000;  // expired (until is exclusive)
  f.batch.cc_num[2] = 1;
  ScoreScratch scratch;
  std::vector<Decision> out(3);
  REQUIRE(s->score(f.batch, f.features, f.flags, scratch, out).ok());
  CHECK(out[0].score == 1000);
  CHECK(out[1].score == 0);
  CHECK(out[2].score == 0);
  REQUIRE(scratch.flagged_hits().size() == 1);
  CHECK(scratch.flagged_hits()[0] == FlagHit{0, Field::kCcNum, *f.dict.find("reported stolen")});
}

TEST_CASE("shape mismatches are refused", "[score]") {
  Fixture f;
  Config c;
  c.rules.push_back(rule("A", "amt > 1", 1));
  auto s = Scorer::compile(c, kNames, f.dict);
  REQUIRE(s.ok());
  f.rows(4);
  std::vector<Decision> out(3);
  CHECK(s->score(f.batch, f.features, f.flags, out).code() == ErrorCode::kInvalidArgument);
  FeatureMatrix narrow(3, 16);
  narrow.set_rows(4);
  out.resize(4);
  CHECK(s->score(f.batch, narrow, f.flags, out).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("arch selection: explicit option, environment, unavailable", "[score][simd]") {
  Dictionary dict;
  Config c;
  c.rules.push_back(rule("A", "amt > 1", 1));
  const auto archs = available_score_archs();
  REQUIRE(archs.front() == ScoreArch::kScalar);
  for (ScoreArch a : archs) {
    auto s = Scorer::compile(c, kNames, dict, {a});
    REQUIRE(s.ok());
    CHECK(s->arch() == a);
    CHECK(score_arch_from_name(s->arch_name()) == a);
  }
  ::setenv("VIGIL_FORCE_ARCH", "scalar", 1);
  CHECK(Scorer::compile(c, kNames, dict)->arch() == ScoreArch::kScalar);
  ::setenv("VIGIL_FORCE_ARCH", "avx9000", 1);
  CHECK(Scorer::compile(c, kNames, dict).status().code() == ErrorCode::kInvalidArgument);
  ::unsetenv("VIGIL_FORCE_ARCH");
  CHECK(Scorer::compile(c, kNames, dict)->arch() == archs.back());
}

TEST_CASE("model terms may be expressions and conditions", "[score]") {
  Fixture f;
  Config c;
  c.rules.push_back(rule("LOGBIG", "log1p(amt) > 6", 50));
  c.model.kind = ModelSpec::Kind::kLogistic;
  c.model.bias = -6;
  c.model.scale = 1000;
  c.model.terms.push_back({"log1p(amt)", 0.9, 0, 1});
  c.model.terms.push_back({"hour >= 22 || hour < 4", 1.3, 0.25, 0.5});
  c.model.terms.push_back({"amt / max(card_amt_avg_30d, 1)", 0.4, 0, 1});
  c.model.terms.push_back({"in(category, [\"shopping_net\", \"misc_net\"])", 0.8, 0, 1});
  c.model.terms.push_back({"card_count_1h", 0.001, 0, 1});
  auto s = Scorer::compile(c, kNames, f.dict);
  INFO(s.status().to_string());
  REQUIRE(s.ok());
  CHECK(s->model_terms() == 5);
  const std::string dump = s->dump_program();
  INFO(dump);
  CHECK(count(dump, "log1p amt") == 1);  // shared by the rule and the first term
  CHECK(s->reason_id(kModelReasonBase + 1) == "hour >= 22 || hour < 4");
  CHECK(s->reason_text(kModelReasonBase + 2) == "model: amt / max(card_amt_avg_30d, 1)");

  f.rows(3);
  const StrId net = *f.dict.find("shopping_net");
  f.features.column(kAmt)[0] = 900;  // all present
  f.features.column(kHour)[0] = 23;
  f.features.column(kAvg)[0] = 30;
  f.features.column(kCount)[0] = 4;
  f.batch.category[0] = net;
  f.features.column(kAmt)[1] = 40;  // avg, count and hour missing
  // row 2: all missing: NaN terms give 0; the conditions are false (0), so the night term
  // still contributes 1.3 · (0 − 0.25) / 0.5.
  auto out = f.run(*s);
  const double log900 = score::apply_numeric(score::Op::kLog1p, 900, 0);
  const double log40 = score::apply_numeric(score::Op::kLog1p, 40, 0);
  const double night_off = ((0 - 0.25) / 0.5) * 1.3, night_on = ((1 - 0.25) / 0.5) * 1.3;
  auto expect = [&](double lin, double rules) {
    const double p = 1.0 / (1.0 + std::exp(-lin));
    return static_cast<int>(std::clamp(std::round(rules + 1000 * p), 0.0, 1000.0));
  };
  const double lin0 = ((((-6.0 + log900 * 0.9) + night_on) + (900.0 / 30) * 0.4) + 0.8) + 0.004;
  CHECK(out[0].score == expect(lin0, 50));
  CHECK(out[1].score == expect(((-6.0 + log40 * 0.9) + night_off) + 0.0, 0));
  CHECK(out[2].score == expect(-6.0 + night_off, 0));
  // Row 0: the model dominates; |c|: ratio 12 > log1p 6.1 > ...
  REQUIRE(out[0].reason_count == 3);
  CHECK(out[0].reasons[0] == kModelReasonBase + 2);
  CHECK(out[0].reasons[1] == kModelReasonBase + 0);
  CHECK(out[0].reasons[2] == 0);
  // Row 2: only the night term (negative, |c| = 0.65) is non-zero.
  REQUIRE(out[2].reason_count == 1);
  CHECK(out[2].reasons[0] == kModelReasonBase + 1);
}

TEST_CASE("evaluate_terms gives raw term values, zero weights compile", "[score]") {
  Fixture f;
  Config c;
  c.model.kind = ModelSpec::Kind::kLogistic;
  c.model.bias = -2;
  c.model.scale = 1000;
  for (const char* t : {"amt", "log1p(amt)", "hour >= 22 || hour < 4", "amt / card_amt_avg_30d",
                        "category == \"misc_net\"", "flagged(cc_num)", "2 * 3"}) {
    c.model.terms.push_back({t, 0, 0, 1});
  }
  c.model.terms[2].mean = 0.5;  // standardization does not touch the raw values
  auto s = Scorer::compile(c, kNames, f.dict);
  INFO(s.status().to_string());
  REQUIRE(s.ok());
  FlagChange flag;
  flag.key = 77;
  f.flags.apply(flag);
  f.rows(3);
  f.features.column(kAmt)[0] = 10;
  f.features.column(kHour)[0] = 2;
  f.features.column(kAvg)[0] = 4;
  f.batch.category[0] = f.dict.intern("misc_net");
  f.batch.cc_num[0] = 77;
  f.features.column(kAmt)[1] = 3;
  f.features.column(kHour)[1] = 12;
  for (ScoreArch a : available_score_archs()) {
    auto sa = s->with_arch(a);
    REQUIRE(sa.ok());
    INFO(sa->arch_name());
    ScoreScratch scratch;
    FeatureMatrix values;
    REQUIRE(sa->evaluate_terms(f.batch, f.features, f.flags, scratch, values).ok());
    REQUIRE(values.columns() == 7);
    REQUIRE(values.rows() == 3);
    CHECK(values.at(0, 0) == 10);
    CHECK(values.at(0, 1) == score::apply_numeric(score::Op::kLog1p, 10, 0));
    CHECK(values.at(0, 2) == 1);
    CHECK(values.at(0, 3) == 2.5);
    CHECK(values.at(0, 4) == 1);
    CHECK(values.at(0, 5) == 1);
    CHECK(values.at(0, 6) == 6);
    CHECK(values.at(1, 2) == 0);
    CHECK(std::isnan(values.at(1, 3)));
    CHECK(values.at(1, 4) == 0);
    CHECK(values.at(1, 5) == 0);
    CHECK(std::isnan(values.at(2, 0)));
    CHECK(values.at(2, 2) == 0);  // missing hour: the condition is false
    // Weights all 0: the model is sigmoid(bias) for every row.
    std::vector<Decision> out(3);
    REQUIRE(sa->score(f.batch, f.features, f.flags, scratch, out).ok());
    const int want = static_cast<int>(std::round(1000 / (1 + std::exp(2.0))));
    for (const Decision& d : out) {
      CHECK(d.score == want);
      CHECK(d.reason_count == 0);  // no term contributes
    }
  }
  FeatureMatrix narrow(3, 16);
  narrow.set_rows(3);
  FeatureMatrix values;
  ScoreScratch scratch;
  CHECK(s->evaluate_terms(f.batch, narrow, f.flags, scratch, values).code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("model term errors name the term, the column and a suggestion", "[score]") {
  Dictionary dict;
  auto errors_of = [&](std::string term) {
    Config c;
    c.model.kind = ModelSpec::Kind::kLogistic;
    c.model.scale = 100;
    c.model.terms.push_back({"amt", 1, 0, 1});
    c.model.terms.push_back({std::move(term), 1, 0, 1});
    return Scorer::check(c, kNames, dict);
  };
  auto e = errors_of("log1p(amt");
  REQUIRE(e.size() == 1);
  CHECK(e[0].rule_id.empty());
  CHECK(e[0].column == 10);
  CHECK(e[0].message.find("model term 'log1p(amt', column 10: ") == 0);
  CHECK(e[0].to_string() == e[0].message);

  e = errors_of("log1p(amtt) * 2");
  REQUIRE(e.size() == 1);
  CHECK(e[0].column == 7);
  CHECK(e[0].token == "amtt");
  CHECK(e[0].message.find("did you mean 'amt'?") != std::string::npos);

  e = errors_of("category");
  REQUIRE(e.size() == 1);
  CHECK(e[0].message.find("a number or a condition") != std::string::npos);

  e = errors_of("card_cnt_1h");
  REQUIRE(e.size() == 1);
  CHECK(e[0].message.find("did you mean 'card_count_1h'?") != std::string::npos);

  Config c;
  c.model.kind = ModelSpec::Kind::kLinear;
  c.model.scale = 100;
  c.model.terms.push_back({"hour < 4 &&", 1, 0, 1});
  auto s = Scorer::compile(c, kNames, dict);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == ErrorCode::kParseError);
  CHECK(s.status().message().find("model term 'hour < 4 &&', column 12") != std::string::npos);
}

TEST_CASE("single-use arithmetic runs inside its comparison, model terms in one step",
          "[score][simd]") {
  Fixture f;
  Config c;
  c.rules.push_back(rule("SPIKE", "amt > 3 * card_amt_avg_30d && hour < 6", 100));
  c.rules.push_back(rule("LEFT", "card_amt_avg_30d * 2 <= amt", 10));         // flipped: amt >= ...
  c.rules.push_back(rule("SHARED", "amt - hour > 1 || amt - hour < -1", 1));  // 2 readers
  c.rules.push_back(rule("CONST", "amt / 4 > 10", 1000));                     // left of a constant
  c.model.kind = ModelSpec::Kind::kLogistic;
  c.model.bias = -1;
  c.model.scale = 10;
  c.model.terms = {{"amt", 0.5, 20, 4}, {"hour", 0.25, 0, 2}};
  auto s = Scorer::compile(c, kNames, f.dict, {ScoreArch::kScalar});
  REQUIRE(s.ok());
  const std::string dump = s->dump_program();
  INFO(dump);
  CHECK(count(dump, "gt amt, (mul card_amt_avg_30d, 3) & m") == 1);
  CHECK(count(dump, "ge amt, (mul card_amt_avg_30d, 2)") == 1);
  CHECK(count(dump, " = sub amt, hour") == 1);  // shared: computed once, stored
  CHECK(count(dump, " = div amt, 4") == 1);     // a constant left would need a splat: not fused
  CHECK(count(dump, "scale_nz amt, 0.125, 20") == 1);
  CHECK(count(dump, "scale_nz hour, 0.125") == 1);
  // Values where fused and stored arithmetic would differ if the operations were reordered or
  // contracted, NaNs, signed zeros and infinities: every arch gives the scalar decisions.
  f.rows(16);
  const double amts[] = {3.0000000000000004,
                         0.1 * 3,
                         -0.0,
                         kNaN,
                         1e308,
                         41,
                         40,
                         39.999999999,
                         std::numeric_limits<double>::infinity(),
                         7,
                         6.000000000000001,
                         2,
                         0,
                         1,
                         -5,
                         9};
  for (std::size_t i = 0; i < 16; ++i) {
    f.features.column(kAmt)[i] = amts[i];
    f.features.column(kAvg)[i] = i % 5 == 0 ? kNaN : (i % 2 ? 1.0000000000000002 : 0.1);
    f.features.column(kHour)[i] = static_cast<double>(i % 8);
  }
  const auto want = f.run(*s);
  for (ScoreArch a : available_score_archs()) {
    auto sa = s->with_arch(a);
    REQUIRE(sa.ok());
    INFO(sa->arch_name());
    CHECK(f.run(*sa) == want);
  }
  CHECK(want[5].score >= 1000);  // 41 / 4 > 10
}

TEST_CASE("the default config's 40-term model runs in one pass, conditions read from masks",
          "[score]") {
  auto config = parse_config(default_config_json());
  REQUIRE(config.ok());
  Dictionary dict;
  auto store = FeatureStore::create(*config, dict);
  REQUIRE(store.ok());
  auto s = Scorer::compile(*config, store->column_names(), dict, {ScoreArch::kScalar});
  REQUIRE(s.ok());
  const std::string dump = s->dump_program();
  INFO(dump);
  CHECK(s->model_terms() == 40);
  CHECK(count(dump, "top2 <- terms:") == 1);
  CHECK(count(dump, "mask_to_num") == 0);  // no condition term stored as numbers first
  CHECK(count(dump, "\n  scale_nz m") == 25);
}
