// libFuzzer target: the ndjson reader of vigil::Ingestor (see fuzz_ingest.h for the invariants).
// It also checks the fast paths against their general paths, line by line: the JSON reader's
// flat-record fast path against simdjson (same outcome, Row and error), and the builder's
// per-card memo against the full transaction path (same outcome, transaction, error and
// dictionary).
#include <cstring>

#include "fuzz_ingest.h"
#include "ingest/builder.h"
#include "ingest/json_reader.h"

namespace {

bool same_row(const vigil::ingest::Row& a, const vigil::ingest::Row& b) {
  if (a.present != b.present) return false;
  for (std::uint8_t s = 0; s < vigil::ingest::kSlotCount; ++s) {
    if (a.has(s) && (a[s].kind != b[s].kind || a[s].text != b[s].text)) return false;
  }
  return true;
}

bool same_error(const vigil::ingest::RecordError& a, const vigil::ingest::RecordError& b) {
  return a.kind == b.kind && a.field == b.field && a.reason == b.reason;
}

bool same_tx(const vigil::Transaction& a, const vigil::Transaction& b) {
  const auto bits = [](double d) {
    std::uint64_t u;
    std::memcpy(&u, &d, sizeof u);
    return u;
  };
  return a.time == b.time && a.unix_time == b.unix_time && a.cc_num == b.cc_num &&
         a.amt_cents == b.amt_cents && bits(a.lat) == bits(b.lat) && bits(a.lon) == bits(b.lon) &&
         bits(a.merch_lat) == bits(b.merch_lat) && bits(a.merch_lon) == bits(b.merch_lon) &&
         a.merchant == b.merchant && a.category == b.category && a.first == b.first &&
         a.last == b.last && a.street == b.street && a.city == b.city && a.state == b.state &&
         a.job == b.job && a.zip == b.zip && a.city_pop == b.city_pop && a.dob == b.dob &&
         a.gender == b.gender && a.is_fraud == b.is_fraud &&
         a.trans_num.view() == b.trans_num.view();
}

struct Paths {
  vigil::Schema schema;
  vigil::IngestLimits limits;
  vigil::ingest::KeyTable keys{schema};
  std::unique_ptr<vigil::ingest::JsonReader> fast =
      vigil::ingest::make_json_reader(vigil::ingest::default_json_arch(), keys, limits);
  std::unique_ptr<vigil::ingest::JsonReader> general =
      vigil::ingest::make_json_reader(vigil::ingest::default_json_arch(), keys, limits);
  Paths() {
    limits.max_fields = 24;  // small enough for the limit paths
    general->set_fast_path(false);
  }
};

void compare_paths(std::string_view input) {
  static Paths paths;  // readers are reused across inputs, as an ingestor reuses them
  vigil::Dictionary dict_memo, dict_full;
  vigil::ingest::RecordBuilder memo(dict_memo, paths.limits, paths.keys);
  vigil::ingest::RecordBuilder full(dict_full, paths.limits, paths.keys);
  full.set_card_memo(false);
  std::string buf;
  vigil::ingest::Row row_fast, row_general;
  for (std::size_t pos = 0; pos < input.size();) {
    std::size_t nl = input.find('\n', pos);
    if (nl == std::string_view::npos) nl = input.size();
    const std::string_view line = input.substr(pos, nl - pos);
    pos = nl + 1;
    // Padded as the ingestor's canonical copy, with what follows in the input after it.
    buf.assign(line);
    buf.append(input.substr(std::min(nl, input.size()), 16));
    buf.resize(line.size() + vigil::ingest::kJsonPadding, ' ');
    memo.error() = {};
    full.error() = {};
    const bool ok_fast = paths.fast->read_flat(buf.data(), line.size(), buf.size(), row_fast, memo);
    const bool ok_general =
        paths.general->read_flat(buf.data(), line.size(), buf.size(), row_general, full);
    if (ok_fast != ok_general) __builtin_trap();
    if (!ok_fast) {
      if (!same_error(memo.error(), full.error())) __builtin_trap();
      continue;
    }
    if (!same_row(row_fast, row_general)) __builtin_trap();
    vigil::Transaction a, b;
    const bool tx_memo = memo.transaction(row_fast, a);
    const bool tx_full = full.transaction(row_general, b);
    if (tx_memo != tx_full || dict_memo.size() != dict_full.size()) __builtin_trap();
    if (tx_memo ? !same_tx(a, b) : !same_error(memo.error(), full.error())) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  compare_paths(std::string_view(reinterpret_cast<const char*>(data), size));
  return vigil::fuzz::fuzz_one(vigil::Format::kNdjson, data, size);
}
