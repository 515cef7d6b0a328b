#include "vigil/rollup.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "model/binary_io.h"
#include "model/text.h"

namespace vigil {
namespace {

struct SegmentKey {
  StrId state;
  StrId category;
  std::uint8_t hour;
  friend bool operator==(const SegmentKey&, const SegmentKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SegmentKey& k) {
    return H::combine(std::move(h), k.state, k.category, k.hour);
  }
};

constexpr std::array<std::string_view, kAgeBands> kAgeBandNames = {
    "<25", "25-34", "35-44", "45-54", "55-64", "65+", "unknown"};
constexpr std::size_t kUnknownBand = kAgeBands - 1;

// Gender slots of the demographic table: F, M, anything else.
std::size_t gender_slot(char g) noexcept { return g == 'F' ? 0 : g == 'M' ? 1 : 2; }
constexpr char kGenderNames[3] = {'F', 'M', '?'};

void add_to(RollupCell& c, std::int64_t cents, bool alert, bool fraud) noexcept {
  ++c.transactions;
  c.amount_cents += cents;
  c.alerts += alert ? 1 : 0;
  c.fraud += fraud ? 1 : 0;
}

void add_cell(RollupCell& into, const RollupCell& c) noexcept {
  into.transactions += c.transactions;
  into.amount_cents += c.amount_cents;
  into.alerts += c.alerts;
  into.fraud += c.fraud;
}

std::string amount_text(std::int64_t cents) {
  const std::uint64_t mag =
      cents < 0 ? 0 - static_cast<std::uint64_t>(cents) : static_cast<std::uint64_t>(cents);
  return absl::StrFormat("%s%u.%02u", cents < 0 ? "-" : "", mag / 100, mag % 100);
}

void append_cell_json(std::string& o, const RollupCell& c) {
  o += absl::StrFormat("\"transactions\": %u, \"amount\": %s, \"alerts\": %u, \"fraud\": %u",
                       c.transactions, amount_text(c.amount_cents), c.alerts, c.fraud);
}

}  // namespace

std::string_view age_band_name(std::size_t band) noexcept {
  return kAgeBandNames[std::min(band, kUnknownBand)];
}

std::size_t age_band_of(double age) noexcept {
  if (!(age >= 0)) return kUnknownBand;
  if (age < 25) return 0;
  if (age >= 65) return 5;
  return 1 + static_cast<std::size_t>((age - 25) / 10);
}

int age_in_years(std::int32_t dob_days, Micros at) noexcept {
  if (dob_days == kNoDate) return -1;
  const CivilDate birth = civil_from_days(dob_days);
  const CivilDate now = civil_from_days(floor_div(at, kMicrosPerDay));
  int years = now.year - birth.year;
  if (now.month < birth.month || (now.month == birth.month && now.day < birth.day)) --years;
  return years;
}

struct Rollups::Impl {
  absl::flat_hash_map<SegmentKey, RollupCell> segments;
  std::array<std::array<RollupCell, kAgeBands>, 3> demographics{};
  RollupCell total;
};

Rollups::Rollups() : impl_(std::make_unique<Impl>()) {}
Rollups::~Rollups() = default;
Rollups::Rollups(Rollups&&) noexcept = default;
Rollups& Rollups::operator=(Rollups&&) noexcept = default;

void Rollups::add(const TransactionBatch& b, std::span<const Decision> decisions) {
  for (std::size_t i = 0; i < b.size(); ++i) {
    const bool alert = decisions[i].action != Action::kApprove;
    const bool fraud = b.is_fraud[i] == 1;
    const std::int64_t cents = b.amt_cents[i];
    const SegmentKey key{b.state[i], b.category[i], static_cast<std::uint8_t>(hour_of(b.time[i]))};
    add_to(impl_->segments[key], cents, alert, fraud);
    const int age = age_in_years(b.dob[i], b.time[i]);
    add_to(impl_->demographics[gender_slot(b.gender[i])][age_band_of(age < 0 ? NAN : age)], cents,
           alert, fraud);
    add_to(impl_->total, cents, alert, fraud);
  }
}

void Rollups::clear() { *impl_ = Impl{}; }

RollupCell Rollups::total() const noexcept { return impl_->total; }

RollupCell Rollups::demographic(char gender, std::size_t band) const noexcept {
  return impl_->demographics[gender_slot(gender)][std::min(band, kUnknownBand)];
}

std::vector<SegmentRow> Rollups::segments(const Dictionary& dict) const {
  std::vector<SegmentRow> rows;
  rows.reserve(impl_->segments.size());
  for (const auto& [k, cell] : impl_->segments) {
    rows.push_back(
        {std::string(dict.view(k.state)), std::string(dict.view(k.category)), k.hour, cell});
  }
  std::sort(rows.begin(), rows.end(), [](const SegmentRow& a, const SegmentRow& b) {
    return std::tie(a.state, a.category, a.hour) < std::tie(b.state, b.category, b.hour);
  });
  return rows;
}

std::vector<std::pair<std::string, RollupCell>> Rollups::by_state(const Dictionary& dict) const {
  absl::flat_hash_map<StrId, RollupCell> sums;
  for (const auto& [k, cell] : impl_->segments) add_cell(sums[k.state], cell);
  std::vector<std::pair<std::string, RollupCell>> rows;
  rows.reserve(sums.size());
  for (const auto& [state, cell] : sums) rows.emplace_back(std::string(dict.view(state)), cell);
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return rows;
}

std::string Rollups::to_json(const Dictionary& dict) const {
  std::string o = "{\"total\": {";
  append_cell_json(o, impl_->total);
  o += "},\n \"segments\": [";
  bool first = true;
  for (const SegmentRow& r : segments(dict)) {
    o += first ? "\n  {" : ",\n  {";
    first = false;
    o += "\"state\": ";
    detail::append_json_string(o, r.state);
    o += ", \"category\": ";
    detail::append_json_string(o, r.category);
    o += absl::StrFormat(", \"hour\": %d, ", r.hour);
    append_cell_json(o, r.cell);
    o += "}";
  }
  o += "],\n \"demographics\": [";
  first = true;
  for (std::size_t g = 0; g < 3; ++g) {
    for (std::size_t band = 0; band < kAgeBands; ++band) {
      const RollupCell& c = impl_->demographics[g][band];
      if (c.transactions == 0) continue;
      o += first ? "\n  {" : ",\n  {";
      first = false;
      o += absl::StrFormat("\"gender\": \"%c\", \"age_band\": \"%s\", ", kGenderNames[g],
                           age_band_name(band));
      append_cell_json(o, c);
      o += "}";
    }
  }
  o += "]}\n";
  return o;
}

std::string Rollups::to_csv(const Dictionary& dict) const {
  std::string o =
      "dimension,state,category,hour,gender,age_band,transactions,amount,alerts,fraud\n";
  auto cell = [&](const RollupCell& c) {
    o += absl::StrFormat("%u,%s,%u,%u\n", c.transactions, amount_text(c.amount_cents), c.alerts,
                         c.fraud);
  };
  o += "total,,,,,,";
  cell(impl_->total);
  for (const SegmentRow& r : segments(dict)) {
    o += "segment,";
    detail::append_csv_field(o, r.state);
    o += ',';
    detail::append_csv_field(o, r.category);
    o += absl::StrFormat(",%d,,,", r.hour);
    cell(r.cell);
  }
  for (std::size_t g = 0; g < 3; ++g) {
    for (std::size_t band = 0; band < kAgeBands; ++band) {
      const RollupCell& c = impl_->demographics[g][band];
      if (c.transactions == 0) continue;
      o += absl::StrFormat("demographic,,,,%c,%s,", kGenderNames[g], age_band_name(band));
      cell(c);
    }
  }
  return o;
}

namespace {
void save_cell(detail::BinaryWriter& w, const RollupCell& c) {
  w.varint(c.transactions);
  w.svarint(c.amount_cents);
  w.varint(c.alerts);
  w.varint(c.fraud);
}
RollupCell load_cell(detail::BinaryReader& r) {
  RollupCell c;
  c.transactions = r.varint();
  c.amount_cents = r.svarint();
  c.alerts = r.varint();
  c.fraud = r.varint();
  return c;
}
}  // namespace

void Rollups::save(std::string& out) const {
  detail::BinaryWriter w;
  // Sorted by ids (not strings): ids are part of the same snapshot, and the order only has to
  // be a function of the state, not of the hash map's layout.
  std::vector<std::pair<SegmentKey, RollupCell>> rows(impl_->segments.begin(),
                                                      impl_->segments.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.state, a.first.category, a.first.hour) <
           std::tie(b.first.state, b.first.category, b.first.hour);
  });
  save_cell(w, impl_->total);
  w.varint(rows.size());
  for (const auto& [k, c] : rows) {
    w.varint(k.state);
    w.varint(k.category);
    w.u8(k.hour);
    save_cell(w, c);
  }
  for (const auto& g : impl_->demographics) {
    for (const RollupCell& c : g) save_cell(w, c);
  }
  out += w.data();
}

Status Rollups::load(std::string_view in) {
  detail::BinaryReader r(in);
  Impl fresh;
  fresh.total = load_cell(r);
  const std::uint64_t n = r.count(7);
  fresh.segments.reserve(n);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    SegmentKey k;
    k.state = static_cast<StrId>(r.varint());
    k.category = static_cast<StrId>(r.varint());
    k.hour = r.u8();
    fresh.segments[k] = load_cell(r);
  }
  for (auto& g : fresh.demographics) {
    for (RollupCell& c : g) c = load_cell(r);
  }
  if (!r.ok() || !r.at_end()) return {ErrorCode::kCorrupt, "rollups: malformed snapshot section"};
  *impl_ = std::move(fresh);
  return {};
}

}  // namespace vigil
