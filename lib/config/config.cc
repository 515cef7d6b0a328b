#include <charconv>
#include <cmath>
#include <string>

#include "absl/strings/str_format.h"
#include "config/json.h"
#include "model/text.h"
#include "vigil/config.h"

namespace vigil {
namespace {

using detail::JsonValue;

constexpr std::string_view kAggNames[] = {"count", "sum", "avg", "min", "max", "std", "distinct"};

Status error_at(const JsonValue& v, const std::string& what) {
  return {ErrorCode::kInvalidArgument,
          absl::StrFormat("line %u, column %u: %s", v.line, v.column, what)};
}

Status type_error(const JsonValue& v, std::string_view what, std::string_view expected) {
  return error_at(
      v, absl::StrFormat("%s must be %s, not %s", what, expected, detail::json_kind_name(v.kind)));
}

// Refuses members not in `known`, naming the closest known one: a typo such as "widnow" must
// not silently fall back to a default.
Status check_members(const JsonValue& obj, std::string_view where,
                     std::span<const std::string_view> known) {
  for (const auto& [key, value] : obj.members) {
    bool found = false;
    for (const std::string_view k : known) found = found || k == key;
    if (!found) {
      return error_at(value, absl::StrFormat("unknown member \"%s\" in %s%s", key, where,
                                             detail::did_you_mean(key, known)));
    }
  }
  return {};
}

Status get_string(const JsonValue& obj, std::string_view key, std::string_view where,
                  std::string& out, bool required) {
  const JsonValue* v = obj.find(key);
  if (v == nullptr) {
    if (required) return error_at(obj, absl::StrFormat("%s needs \"%s\"", where, key));
    return {};
  }
  if (!v->is_string()) return type_error(*v, absl::StrFormat("\"%s\"", key), "a string");
  out = v->text;
  return {};
}

Status get_number(const JsonValue& obj, std::string_view key, double& out, bool required,
                  std::string_view where) {
  const JsonValue* v = obj.find(key);
  if (v == nullptr) {
    if (required) return error_at(obj, absl::StrFormat("%s needs \"%s\"", where, key));
    return {};
  }
  if (!v->is_number()) return type_error(*v, absl::StrFormat("\"%s\"", key), "a number");
  out = v->number;
  return {};
}

Status get_duration(const JsonValue& v, std::string_view key, Micros& out) {
  if (!v.is_string())
    return type_error(v, absl::StrFormat("\"%s\"", key), "a duration string such as \"15m\"");
  const auto d = parse_duration(v.text);
  if (!d) {
    return error_at(v, absl::StrFormat("\"%s\": '%s' is not a duration (use a number and one of "
                                       "us, ms, s, m, h, d, e.g. \"90s\", \"24h\", \"7d\")",
                                       key, v.text));
  }
  out = *d;
  return {};
}

Status get_time(const JsonValue& v, std::string_view key, Micros& out) {
  if (!v.is_string()) return type_error(v, absl::StrFormat("\"%s\"", key), "a timestamp string");
  const auto t = parse_timestamp(v.text);
  if (!t) {
    return error_at(v, absl::StrFormat("\"%s\": '%s' is not a timestamp (use \"YYYY-MM-DD\", "
                                       "\"YYYY-MM-DD HH:MM:SS\" or ISO-8601 with Z)",
                                       key, v.text));
  }
  out = *t;
  return {};
}

Status get_field(const JsonValue& v, std::string_view key, Field& out) {
  if (!v.is_string()) return type_error(v, absl::StrFormat("\"%s\"", key), "a field name");
  const auto f = field_from_name(v.text);
  if (!f) {
    std::vector<std::string_view> names;
    for (std::size_t i = 0; i < kFieldCount; ++i)
      names.push_back(field_name(static_cast<Field>(i)));
    return error_at(v, absl::StrFormat("\"%s\": unknown field '%s'%s", key, v.text,
                                       detail::did_you_mean(v.text, names)));
  }
  out = *f;
  return {};
}

Status parse_feature(const JsonValue& v, FeatureSpec& f) {
  if (!v.is_object()) return type_error(v, "a feature", "an object");
  static constexpr std::string_view kKnown[] = {"name",   "key",         "agg",   "field",
                                                "window", "granularity", "events"};
  if (Status s = check_members(v, "a feature", kKnown); !s.ok()) return s;
  f.line = v.line;
  f.column = v.column;
  if (Status s = get_string(v, "name", "a feature", f.name, true); !s.ok()) return s;
  const std::string where = absl::StrFormat("feature '%s'", f.name);
  if (f.name.empty()) return error_at(v, "a feature's \"name\" must not be empty");
  const JsonValue* key = v.find("key");
  if (key == nullptr) return error_at(v, where + " needs \"key\"");
  if (Status s = get_field(*key, "key", f.key); !s.ok()) return s;
  if (!is_key_field(f.key)) {
    return error_at(*key,
                    absl::StrFormat("%s: '%s' cannot be a key (keys are cc_num, merchant, "
                                    "category, state, city, zip, job, first, last, street, gender)",
                                    where, key->text));
  }
  const JsonValue* agg = v.find("agg");
  if (agg == nullptr) return error_at(v, where + " needs \"agg\"");
  if (!agg->is_string()) return type_error(*agg, "\"agg\"", "a string");
  const auto a = agg_from_name(agg->text);
  if (!a) {
    return error_at(*agg,
                    absl::StrFormat("%s: unknown agg '%s' (one of count, sum, avg, min, max, "
                                    "std, distinct)%s",
                                    where, agg->text, detail::did_you_mean(agg->text, kAggNames)));
  }
  f.agg = *a;
  if (const JsonValue* field = v.find("field")) {
    Field fld;
    if (Status s = get_field(*field, "field", fld); !s.ok()) return s;
    f.field = fld;
  }
  if (f.agg != Agg::kCount && !f.field) {
    return error_at(v, absl::StrFormat("%s: agg '%s' needs a \"field\"", where, agg_name(f.agg)));
  }
  const JsonValue* window = v.find("window");
  if (window == nullptr) return error_at(v, where + " needs \"window\"");
  if (Status s = get_duration(*window, "window", f.window); !s.ok()) return s;
  if (f.window <= 0) return error_at(*window, where + ": \"window\" must be positive");
  if (const JsonValue* g = v.find("granularity")) {
    if (Status s = get_duration(*g, "granularity", f.granularity); !s.ok()) return s;
    if (f.granularity <= 0 || f.granularity > f.window) {
      return error_at(*g, where + ": \"granularity\" must be positive and at most the window");
    }
  }
  if (Status s = get_string(v, "events", where, f.events, false); !s.ok()) return s;
  if (!f.events.empty()) {
    const JsonValue& ev = *v.find("events");
    if (f.events.rfind("status:", 0) != 0 || f.events.size() == 7) {
      return error_at(
          ev, where + ": \"events\" must look like \"status:<value>\", e.g. \"status:disputed\"");
    }
    if (f.agg != Agg::kCount) {
      return error_at(*agg, where + ": features over status events support agg 'count' only");
    }
  }
  return {};
}

Status parse_rule(const JsonValue& v, RuleSpec& r) {
  if (!v.is_object()) return type_error(v, "a rule", "an object");
  static constexpr std::string_view kKnown[] = {"id", "when", "score", "reason"};
  if (Status s = check_members(v, "a rule", kKnown); !s.ok()) return s;
  if (Status s = get_string(v, "id", "a rule", r.id, true); !s.ok()) return s;
  const std::string where = absl::StrFormat("rule '%s'", r.id);
  if (r.id.empty()) return error_at(v, "a rule's \"id\" must not be empty");
  if (Status s = get_string(v, "when", where, r.when, true); !s.ok()) return s;
  const JsonValue& when = *v.find("when");
  r.line = when.line;
  r.column = when.column + 1;  // the expression starts after the opening quote
  if (Status s = get_number(v, "score", r.score, true, where); !s.ok()) return s;
  return get_string(v, "reason", where, r.reason, false);
}

Status parse_model(const JsonValue& v, ModelSpec& m) {
  if (!v.is_object()) return type_error(v, "\"model\"", "an object");
  static constexpr std::string_view kKnown[] = {"kind", "bias", "weights", "standardize", "scale"};
  if (Status s = check_members(v, "\"model\"", kKnown); !s.ok()) return s;
  std::string kind = "logistic";
  if (Status s = get_string(v, "kind", "model", kind, false); !s.ok()) return s;
  if (kind == "logistic")
    m.kind = ModelSpec::Kind::kLogistic;
  else if (kind == "linear")
    m.kind = ModelSpec::Kind::kLinear;
  else if (kind == "none")
    m.kind = ModelSpec::Kind::kNone;
  else
    return error_at(*v.find("kind"),
                    absl::StrFormat("model kind '%s' unknown (logistic, linear or none)", kind));
  if (Status s = get_number(v, "bias", m.bias, false, "model"); !s.ok()) return s;
  if (Status s = get_number(v, "scale", m.scale, m.kind != ModelSpec::Kind::kNone, "model");
      !s.ok())
    return s;
  if (m.scale < 0) return error_at(*v.find("scale"), "model \"scale\" must be >= 0");
  if (const JsonValue* w = v.find("weights")) {
    if (!w->is_object()) return type_error(*w, "model \"weights\"", "an object of feature: weight");
    for (const auto& [name, val] : w->members) {
      if (!val.is_number())
        return type_error(val, absl::StrFormat("weight of '%s'", name), "a number");
      m.terms.push_back({name, val.number, 0.0, 1.0});
    }
  }
  if (const JsonValue* st = v.find("standardize")) {
    if (!st->is_object())
      return type_error(*st, "model \"standardize\"", "an object of feature: {mean, std}");
    for (const auto& [name, val] : st->members) {
      ModelSpec::Term* term = nullptr;
      for (auto& t : m.terms) term = t.feature == name ? &t : term;
      if (term == nullptr) {
        return error_at(val,
                        absl::StrFormat("standardize: '%s' has no weight in \"weights\"", name));
      }
      if (!val.is_object())
        return type_error(val, absl::StrFormat("standardize of '%s'", name), "an object");
      static constexpr std::string_view kStd[] = {"mean", "std"};
      if (Status s = check_members(val, "standardize", kStd); !s.ok()) return s;
      if (Status s = get_number(val, "mean", term->mean, true, "standardize"); !s.ok()) return s;
      if (Status s = get_number(val, "std", term->std, true, "standardize"); !s.ok()) return s;
      if (!(term->std > 0))
        return error_at(val, absl::StrFormat("standardize: std of '%s' must be > 0", name));
    }
  }
  return {};
}

Status parse_flag(const JsonValue& v, FlagSpec& f) {
  if (!v.is_object()) return type_error(v, "a flag", "an object");
  static constexpr std::string_view kKnown[] = {"entity", "id", "until", "reason"};
  if (Status s = check_members(v, "a flag", kKnown); !s.ok()) return s;
  const JsonValue* entity = v.find("entity");
  if (entity == nullptr) return error_at(v, "a flag needs \"entity\"");
  if (Status s = get_field(*entity, "entity", f.entity); !s.ok()) return s;
  if (!is_key_field(f.entity))
    return error_at(*entity,
                    absl::StrFormat("'%s' cannot be flagged: not a key field", entity->text));
  const JsonValue* id = v.find("id");
  if (id == nullptr) return error_at(v, "a flag needs \"id\"");
  if (id->is_string())
    f.id = id->text;
  else if (id->is_number())
    f.id = id->text;  // a card number written as a JSON number: keep its digits
  else
    return type_error(*id, "\"id\"", "a string");
  if (f.entity == Field::kCcNum || f.entity == Field::kZip) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(f.id.data(), f.id.data() + f.id.size(), n);
    if (ec != std::errc() || end != f.id.data() + f.id.size()) {
      return error_at(
          *id, absl::StrFormat("flag id '%s' is not a valid %s", f.id, field_name(f.entity)));
    }
  }
  if (const JsonValue* until = v.find("until")) {
    if (Status s = get_time(*until, "until", f.until); !s.ok()) return s;
  }
  return get_string(v, "reason", "a flag", f.reason, false);
}

Status parse_limits(const JsonValue& v, StoreLimits& l) {
  if (!v.is_object()) return type_error(v, "\"limits\"", "an object");
  static constexpr std::string_view kKnown[] = {"idle_ttl", "cold_after", "memory_budget",
                                                "status_index_size"};
  if (Status s = check_members(v, "\"limits\"", kKnown); !s.ok()) return s;
  if (const JsonValue* t = v.find("idle_ttl")) {
    if (Status s = get_duration(*t, "idle_ttl", l.idle_ttl); !s.ok()) return s;
  }
  if (const JsonValue* t = v.find("cold_after")) {
    if (Status s = get_duration(*t, "cold_after", l.cold_after); !s.ok()) return s;
  }
  double n = 0;
  if (const JsonValue* b = v.find("memory_budget")) {
    // (2^64 and above do not convert to uint64_t: undefined behaviour, not a budget.)
    if (!b->is_number() || b->number < 0 || b->number != std::floor(b->number) ||
        b->number >= 18446744073709551616.0) {
      return error_at(*b, "\"memory_budget\" must be a whole number of bytes below 2^64");
    }
    l.memory_budget = static_cast<std::uint64_t>(b->number);
  }
  if (Status s = get_number(v, "status_index_size", n, false, "limits"); !s.ok()) return s;
  if (v.find("status_index_size")) {
    if (n < 0 || n != std::floor(n) || n > static_cast<double>(kMaxStatusIndexSize)) {
      return error_at(*v.find("status_index_size"),
                      "\"status_index_size\" must be a whole number, at most 2^31");
    }
    l.status_index_size = static_cast<std::uint64_t>(n);
  }
  return {};
}

}  // namespace

std::string_view agg_name(Agg a) noexcept { return kAggNames[static_cast<std::size_t>(a)]; }

std::optional<Agg> agg_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < std::size(kAggNames); ++i) {
    if (kAggNames[i] == name) return static_cast<Agg>(i);
  }
  return std::nullopt;
}

Result<Config> parse_config(std::string_view json) {
  Result<JsonValue> doc = detail::parse_json(json);
  if (!doc.ok()) return doc.status();
  const JsonValue& root = *doc;
  if (!root.is_object()) return type_error(root, "the configuration", "an object");
  static constexpr std::string_view kKnown[] = {"version",    "lateness", "late_policy",
                                                "features",   "rules",    "model",
                                                "thresholds", "flags",    "limits"};
  if (Status s = check_members(root, "the configuration", kKnown); !s.ok()) return s;

  Config c;
  if (Status s = get_string(root, "version", "config", c.version, false); !s.ok()) return s;
  if (const JsonValue* v = root.find("lateness")) {
    if (Status s = get_duration(*v, "lateness", c.lateness); !s.ok()) return s;
  }
  if (const JsonValue* v = root.find("late_policy")) {
    if (!v->is_string()) return type_error(*v, "\"late_policy\"", "a string");
    if (v->text == "dead_letter")
      c.late_policy = LatePolicy::kDeadLetter;
    else if (v->text == "accept_as_arrival")
      c.late_policy = LatePolicy::kAcceptAsArrival;
    else
      return error_at(
          *v,
          absl::StrFormat("late_policy '%s' unknown (dead_letter or accept_as_arrival)", v->text));
  }
  auto array_of = [&](std::string_view key, auto&& each) -> Status {
    const JsonValue* v = root.find(key);
    if (v == nullptr) return {};
    if (!v->is_array()) return type_error(*v, absl::StrFormat("\"%s\"", key), "an array");
    for (const JsonValue& item : v->items) {
      if (Status s = each(item); !s.ok()) return s;
    }
    return {};
  };
  if (Status s = array_of("features",
                          [&](const JsonValue& item) {
                            FeatureSpec f;
                            if (Status e = parse_feature(item, f); !e.ok()) return e;
                            for (const FeatureSpec& other : c.features) {
                              if (other.name == f.name)
                                return error_at(
                                    item, absl::StrFormat("duplicate feature name '%s'", f.name));
                            }
                            c.features.push_back(std::move(f));
                            return Status{};
                          });
      !s.ok()) {
    return s;
  }
  if (Status s = array_of("rules",
                          [&](const JsonValue& item) {
                            RuleSpec r;
                            if (Status e = parse_rule(item, r); !e.ok()) return e;
                            for (const RuleSpec& other : c.rules) {
                              if (other.id == r.id)
                                return error_at(item,
                                                absl::StrFormat("duplicate rule id '%s'", r.id));
                            }
                            c.rules.push_back(std::move(r));
                            return Status{};
                          });
      !s.ok()) {
    return s;
  }
  if (const JsonValue* v = root.find("model")) {
    if (Status s = parse_model(*v, c.model); !s.ok()) return s;
  }
  if (const JsonValue* v = root.find("thresholds")) {
    if (!v->is_object()) return type_error(*v, "\"thresholds\"", "an object");
    static constexpr std::string_view kT[] = {"review", "decline"};
    if (Status s = check_members(*v, "\"thresholds\"", kT); !s.ok()) return s;
    double review = c.thresholds.review, decline = c.thresholds.decline;
    if (Status s = get_number(*v, "review", review, false, "thresholds"); !s.ok()) return s;
    if (Status s = get_number(*v, "decline", decline, false, "thresholds"); !s.ok()) return s;
    if (review < 0 || decline > 1000 || review > decline || review != std::floor(review) ||
        decline != std::floor(decline)) {
      return error_at(*v, "thresholds must be whole numbers with 0 <= review <= decline <= 1000");
    }
    c.thresholds = {static_cast<std::int32_t>(review), static_cast<std::int32_t>(decline)};
  }
  if (Status s = array_of("flags",
                          [&](const JsonValue& item) {
                            FlagSpec f;
                            if (Status e = parse_flag(item, f); !e.ok()) return e;
                            c.flags.push_back(std::move(f));
                            return Status{};
                          });
      !s.ok()) {
    return s;
  }
  if (const JsonValue* v = root.find("limits")) {
    if (Status s = parse_limits(*v, c.limits); !s.ok()) return s;
  }
  return c;
}

namespace {

std::string duration_text(Micros d) {
  struct Unit {
    Micros size;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {kMicrosPerDay, "d"},    {kMicrosPerHour, "h"}, {kMicrosPerMinute, "m"},
      {kMicrosPerSecond, "s"}, {1000, "ms"},          {1, "us"}};
  for (const Unit& u : kUnits) {
    // "24h" reads better than "1d"; whole days from two days up.
    if (u.size == kMicrosPerDay && d < 2 * kMicrosPerDay) continue;
    if (d % u.size == 0) return std::to_string(d / u.size) + u.name;
  }
  return std::to_string(d) + "us";
}

void append_number(std::string& out, double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

std::string to_json(const Config& c) {
  using detail::append_json_string;
  std::string o = "{\n";
  if (!c.version.empty()) {
    o += "  \"version\": ";
    append_json_string(o, c.version);
    o += ",\n";
  }
  o += "  \"lateness\": \"" + duration_text(c.lateness) + "\",\n";
  o += std::string("  \"late_policy\": \"") +
       (c.late_policy == LatePolicy::kDeadLetter ? "dead_letter" : "accept_as_arrival") + "\",\n";
  o += "  \"features\": [";
  for (std::size_t i = 0; i < c.features.size(); ++i) {
    const FeatureSpec& f = c.features[i];
    o += i ? ",\n    " : "\n    ";
    o += "{\"name\": ";
    append_json_string(o, f.name);
    o += ", \"key\": \"" + std::string(field_name(f.key)) + "\", \"agg\": \"" +
         std::string(agg_name(f.agg)) + "\"";
    if (f.field) o += ", \"field\": \"" + std::string(field_name(*f.field)) + "\"";
    o += ", \"window\": \"" + duration_text(f.window) + "\"";
    if (f.granularity > 0) o += ", \"granularity\": \"" + duration_text(f.granularity) + "\"";
    if (!f.events.empty()) {
      o += ", \"events\": ";
      append_json_string(o, f.events);
    }
    o += "}";
  }
  o += c.features.empty() ? "],\n" : "\n  ],\n";
  o += "  \"rules\": [";
  for (std::size_t i = 0; i < c.rules.size(); ++i) {
    const RuleSpec& r = c.rules[i];
    o += i ? ",\n    " : "\n    ";
    o += "{\"id\": ";
    append_json_string(o, r.id);
    o += ", \"when\": ";
    append_json_string(o, r.when);
    o += ", \"score\": ";
    append_number(o, r.score);
    o += ", \"reason\": ";
    append_json_string(o, r.reason);
    o += "}";
  }
  o += c.rules.empty() ? "],\n" : "\n  ],\n";
  const ModelSpec& m = c.model;
  o += "  \"model\": {\"kind\": \"";
  o += m.kind == ModelSpec::Kind::kLogistic ? "logistic"
       : m.kind == ModelSpec::Kind::kLinear ? "linear"
                                            : "none";
  o += "\", \"bias\": ";
  append_number(o, m.bias);
  o += ", \"scale\": ";
  append_number(o, m.scale);
  o += ",\n    \"weights\": {";
  bool any_std = false;
  for (std::size_t i = 0; i < m.terms.size(); ++i) {
    o += i ? ",\n      " : "\n      ";
    append_json_string(o, m.terms[i].feature);
    o += ": ";
    append_number(o, m.terms[i].weight);
    any_std = any_std || m.terms[i].mean != 0 || m.terms[i].std != 1;
  }
  o += "}";
  if (any_std) {
    o += ",\n    \"standardize\": {";
    for (std::size_t i = 0; i < m.terms.size(); ++i) {
      o += i ? ",\n      " : "\n      ";
      append_json_string(o, m.terms[i].feature);
      o += ": {\"mean\": ";
      append_number(o, m.terms[i].mean);
      o += ", \"std\": ";
      append_number(o, m.terms[i].std);
      o += "}";
    }
    o += "}";
  }
  o += "},\n";
  o += "  \"thresholds\": {\"review\": " + std::to_string(c.thresholds.review) +
       ", \"decline\": " + std::to_string(c.thresholds.decline) + "},\n";
  o += "  \"flags\": [";
  for (std::size_t i = 0; i < c.flags.size(); ++i) {
    const FlagSpec& f = c.flags[i];
    o += i ? ",\n    " : "\n    ";
    o += "{\"entity\": \"" + std::string(field_name(f.entity)) + "\", \"id\": ";
    append_json_string(o, f.id);
    if (f.until != std::numeric_limits<Micros>::max())
      o += ", \"until\": \"" + format_timestamp(f.until) + "\"";
    o += ", \"reason\": ";
    append_json_string(o, f.reason);
    o += "}";
  }
  o += c.flags.empty() ? "],\n" : "\n  ],\n";
  o += "  \"limits\": {\"idle_ttl\": \"" + duration_text(c.limits.idle_ttl) +
       "\", \"cold_after\": \"" + duration_text(c.limits.cold_after) +
       "\", \"memory_budget\": " + std::to_string(c.limits.memory_budget) +
       ", \"status_index_size\": " + std::to_string(c.limits.status_index_size) + "}\n";
  o += "}\n";
  return o;
}

}  // namespace vigil
