// The flat-record fast path of the JSON reader against its general simdjson path, on every arch
// this CPU runs: the same outcome, the same Row (kinds and texts), the same error, for valid
// records, edge cases and randomly mutated ones, whatever bytes follow the record.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ingest/builder.h"
#include "ingest/json_reader.h"
#include "ingest/row.h"
#include "log_sink.h"

namespace {

using vigil::ingest::JsonArch;
using vigil::ingest::Row;

struct Outcome {
  bool ok = false;
  Row row;
  vigil::ingest::RecordError error;
};

// Reads `rec` with the bytes after it set to `tail` (repeated), as a chunk would hold them.
Outcome read(vigil::ingest::JsonReader& reader, vigil::ingest::RecordBuilder& builder,
             std::string_view rec, std::string_view tail, std::string& buf) {
  const std::size_t capacity = rec.size() + vigil::ingest::kJsonPadding + 64;
  buf.assign(rec);
  while (buf.size() < capacity) buf += tail;
  buf.resize(capacity);
  Outcome o;
  builder.error() = {};
  o.ok = reader.read_flat(buf.data(), rec.size(), capacity, o.row, builder);
  o.error = builder.error();
  return o;
}

void require_same(const Outcome& fast, const Outcome& general, std::string_view rec) {
  INFO("record: " << std::string(rec));
  REQUIRE(fast.ok == general.ok);
  if (!fast.ok) {
    REQUIRE(fast.error.kind == general.error.kind);
    REQUIRE(fast.error.field == general.error.field);
    REQUIRE(fast.error.reason == general.error.reason);
    return;
  }
  REQUIRE(fast.row.present == general.row.present);
  for (std::uint8_t s = 0; s < vigil::ingest::kSlotCount; ++s) {
    if (!fast.row.has(s)) continue;
    INFO("slot " << vigil::ingest::slot_name(s));
    REQUIRE(fast.row[s].kind == general.row[s].kind);
    REQUIRE(fast.row[s].text == general.row[s].text);
  }
}

std::vector<std::string> base_records() {
  std::vector<std::string> out;
  const std::string file = vigil::testing::read_file(vigil::testing::data_path("sparkov.ndjson"));
  REQUIRE(!file.empty());
  for (std::size_t pos = 0; pos < file.size();) {
    std::size_t nl = file.find('\n', pos);
    if (nl == std::string::npos) nl = file.size();
    if (nl > pos) out.push_back(file.substr(pos, nl - pos));
    pos = nl + 1;
  }
  const char* const edge[] = {
      R"({})",
      R"({"amt":1})",
      R"({"amt":-1.5e+3,"zip":"x","first":null,"last":true,"job":false})",
      R"({"amt":1,"amt":2,"amt":"3"})",
      R"({"unknown_member_with_a_long_name":1,"trans_num":"a","x":"y","z":null,"w":true})",
      R"({"trans_num":"","amt":-,"cc_num":1.2.3,"zip":0e,"lat":+1,"long":-.5})",
      R"({"trans_num":"a\"b","amt":1})",
      R"({"trans_num":"a","amt":1} )",
      R"( {"trans_num":"a","amt":1})",
      R"({"trans_num" :"a","amt":1})",
      R"({"trans_num":"a","amt":1,})",
      R"({"trans_num":"a","amt":1}})",
      R"({"trans_num":"a","amt":[1]})",
      R"({"trans_num":"a","amt":{"x":1}})",
      R"({"trans_num":"a","amt":tru})",
      R"({"trans_num":"a","amt":truex})",
      R"({"trans_num":"a","amt":nul,"x":1})",
      R"({"trans_num":"a","amt":1 2})",
      R"({"trans_num":"a","amt":1x})",
      R"({"trans_num":"a" "amt":1})",
      R"({"trans_num":"a"})",
      R"({"trans_num":"caf\u00e9"})",
      "{\"trans_num\":\"caf\xC3\xA9\"}",
      "{\"trans_num\":\"bad\xC3\"}",
      "{\"trans_num\":\"tab\there\"}",
      "{\"trans_num\":\"del\x7F\"}",
      "{\"tr\xC3\xA9s\":\"a\"}",
      R"({"":1,"trans_num":"a"})",
      R"({"trans_num":"a","amt":1)",
      R"({"trans_num":"a","amt":"1})",
      R"({"trans_num)",
      R"({")",
      R"({"})",
      R"({"a"})",
      R"({"a":})",
      R"({"a":"})",
      R"({"a":1,"b"})",
      R"(["trans_num"])",
      R"("trans_num")",
      R"({"a":1}{"b":2})",
  };
  for (const char* e : edge) out.emplace_back(e);
  // A long string and many members.
  std::string many = "{";
  for (int i = 0; i < 80; ++i) many += "\"f" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  many += "\"trans_num\":\"" + std::string(200, 'x') + "\"}";
  out.push_back(many);
  return out;
}

std::string mutate(std::string s, std::mt19937_64& rng) {
  static constexpr std::string_view kBytes =
      "\"\\{}[],: \t\r\n0123456789eE+-.tfnulrsa\x01\x1F\x7F\x80\xC3\xA9\xFF"
      "%;/*@`KUmN5";  // neighbours of number bytes by nibble (number_run's classes)
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const std::size_t at = rng() % s.size();
    const char b = kBytes[rng() % kBytes.size()];
    switch (rng() % 4) {
      case 0: s[at] = b; break;
      case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), b); break;
      case 2: s.erase(at, 1); break;
      default: s.resize(at); break;  // truncation: a record cut anywhere
    }
  }
  return s;
}

}  // namespace

TEST_CASE("JSON fast path reads flat records exactly as the general path", "[ingest]") {
  const std::vector<std::string> bases = base_records();
  for (const JsonArch arch : {JsonArch::kFallback, JsonArch::kHaswell, JsonArch::kIcelake}) {
    if (!vigil::ingest::json_arch_available(arch)) continue;
    for (const std::size_t max_fields : {std::size_t{256}, std::size_t{5}}) {
      INFO("arch " << vigil::ingest::json_arch_name(arch) << ", max_fields " << max_fields);
      vigil::Schema schema;
      schema.alias("amount", vigil::Field::kAmt);
      vigil::IngestLimits limits;
      limits.max_fields = max_fields;
      const vigil::ingest::KeyTable keys(schema);
      vigil::Dictionary dict;
      vigil::ingest::RecordBuilder builder(dict, limits, keys);
      const auto fast = vigil::ingest::make_json_reader(arch, keys, limits);
      const auto general = vigil::ingest::make_json_reader(arch, keys, limits);
      REQUIRE(fast != nullptr);
      REQUIRE(general != nullptr);
      general->set_fast_path(false);
      std::mt19937_64 rng(0x5EED + static_cast<unsigned>(arch) * 7 + max_fields);
      std::string buf_a, buf_b;
      std::size_t fast_ok = 0;
      const auto check = [&](const std::string& rec) {
        for (const std::string_view tail : {std::string_view(" "), std::string_view("\"}\n{,")}) {
          const Outcome a = read(*fast, builder, rec, tail, buf_a);
          const Outcome b = read(*general, builder, rec, tail, buf_b);
          require_same(a, b, rec);
          fast_ok += a.ok;
        }
      };
      for (const std::string& rec : bases) check(rec);
      for (int i = 0; i < 20000; ++i) {
        std::string rec = mutate(bases[rng() % bases.size()], rng);
        check(rec);
        // Reading a record in a changed key order exercises the key guesses' misses.
        if (i % 100 == 0) check(bases[rng() % bases.size()]);
      }
      CHECK(fast_ok > 1000);  // the comparison covered accepted records, not only failures
    }
  }
}
