#include "vigil/rollup.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "model/binary_io.h"
#include "model/text.h"

namespace vigil {
namespace {

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

namespace {

// The age band of a date of birth at one day, without calendar arithmetic per row: a person
// born on day b is at least A years old on (y, m, d) exactly when b <= the day (y - A, m, d),
// with Feb 29 of a non-leap year read as Feb 28 (the dates before it are those up to Feb 28).
// Agrees with age_band_of(age_in_years(b, t)) for every b and t (tested).
class AgeBander {
 public:
  // The band at time `at`, given as its day: floor_div(at, kMicrosPerDay).
  std::size_t band(std::int32_t dob_days, std::int64_t day) noexcept {
    if (dob_days == kNoDate) return kUnknownBand;
    if (day != day_) set_day(day);
    if (dob_days > cut_[0]) return kUnknownBand;  // born after `at`: a negative age
    std::size_t band = 0;
    for (std::size_t k = 1; k < cut_.size(); ++k) band += dob_days <= cut_[k] ? 1 : 0;
    return band;
  }

 private:
  static constexpr std::array<int, 6> kAges = {0, 25, 35, 45, 55, 65};

  void set_day(std::int64_t day) noexcept {
    day_ = day;
    const CivilDate now = civil_from_days(day);
    for (std::size_t k = 0; k < kAges.size(); ++k) {
      const std::int64_t y = std::int64_t{now.year} - kAges[k];
      const unsigned d = std::min(now.day, days_in_month(static_cast<int>(y), now.month));
      cut_[k] = days_from_civil(y, now.month, d);
    }
  }

  std::int64_t day_ = std::numeric_limits<std::int64_t>::min();
  std::array<std::int64_t, kAges.size()> cut_{};
};

constexpr std::size_t kHours = 24;

// The day and hour of event times, as floor_div(t, kMicrosPerDay) and hour_of(t), without
// their three 64-bit divisions per row: rows come in time order, so the day of the previous
// row usually holds the next one, and within a day the hour is one unsigned division by a
// constant.
class DayClock {
 public:
  std::int64_t day(Micros t) noexcept {
    if (t < lo_ || t > hi_) set(t);
    return day_;
  }
  // Call after day(t).
  int hour(Micros t) const noexcept {
    if (lo_ > hi_) return hour_of(t);  // a day at the edge of the Micros range
    return static_cast<int>(static_cast<std::uint64_t>(t - lo_) /
                            static_cast<std::uint64_t>(kMicrosPerHour));
  }

 private:
  void set(Micros t) noexcept {
    day_ = floor_div(t, kMicrosPerDay);
    // [lo_, hi_] = the day's first and last microsecond; empty when it does not fit.
    if (__builtin_mul_overflow(day_, kMicrosPerDay, &lo_) ||
        __builtin_add_overflow(lo_, kMicrosPerDay - 1, &hi_)) {
      lo_ = 1;
      hi_ = 0;
    }
  }

  std::int64_t day_ = 0;
  Micros lo_ = 1, hi_ = 0;
};

constexpr std::uint64_t pair_key(StrId state, StrId category) noexcept {
  return std::uint64_t{state} << 32 | category;
}

}  // namespace

// Segments are grouped by (state, category): one hash probe per row finds a block of 24 hour
// cells, and a (state, category) with no transaction in some hour keeps an empty cell there
// (exports list only cells with transactions, so the empty ones are invisible).
struct Rollups::Impl {
  // A direct-mapped cache of block_of in front of it: a stream's (state, category) pairs are
  // few (about 700 in Sparkov data) and recur on every batch, so most rows find their block
  // with a multiply and one compare instead of a hash-map probe. A pair is cached only after
  // block_of has it, so blocks are numbered exactly as without the cache.
  struct CachedBlock {
    std::uint64_t key = 0;
    std::uint32_t block = kNoBlock;
  };
  static constexpr std::uint32_t kNoBlock = std::numeric_limits<std::uint32_t>::max();
  static constexpr int kCacheBits = 10;

  absl::flat_hash_map<std::uint64_t, std::uint32_t> block_of;  // pair_key -> block number
  std::vector<RollupCell> cells;                               // block b's hour h at b * kHours + h
  std::vector<std::uint64_t> block_keys;                       // pair_key of each block
  std::vector<CachedBlock> cache = std::vector<CachedBlock>(std::size_t{1} << kCacheBits);
  std::array<std::array<RollupCell, kAgeBands>, 3> demographics{};
  RollupCell total;
  AgeBander ages;

  // The index of a cell in the flat array of blocks (created empty on first use).
  std::uint32_t cell_index(StrId state, StrId category, int hour) {
    const std::uint64_t key = pair_key(state, category);
    CachedBlock& cached = cache[(key * 0x9E3779B97F4A7C15ULL) >> (64 - kCacheBits)];
    if (cached.block == kNoBlock || cached.key != key) {
      const auto [it, inserted] =
          block_of.try_emplace(key, static_cast<std::uint32_t>(block_keys.size()));
      if (inserted) {
        cells.resize(cells.size() + kHours);
        block_keys.push_back(key);
      }
      cached = {key, it->second};
    }
    return cached.block * static_cast<std::uint32_t>(kHours) + static_cast<std::uint32_t>(hour);
  }
  RollupCell& cell(StrId state, StrId category, int hour) {
    return cells[cell_index(state, category, hour)];
  }

  // Every non-empty cell, in (state id, category id, hour) order.
  template <typename F>
  void for_each_segment(F&& f) const {
    std::vector<std::uint32_t> order(block_keys.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return block_keys[a] < block_keys[b]; });
    for (const std::uint32_t i : order) {
      const auto state = static_cast<StrId>(block_keys[i] >> 32);
      const auto category = static_cast<StrId>(block_keys[i] & 0xFFFFFFFFu);
      for (std::size_t h = 0; h < kHours; ++h) {
        const RollupCell& c = cells[i * kHours + h];
        if (c.transactions != 0) f(state, category, static_cast<int>(h), c);
      }
    }
  }
};

Rollups::Rollups() : impl_(std::make_unique<Impl>()) {}
Rollups::~Rollups() = default;
Rollups::Rollups(Rollups&&) noexcept = default;
Rollups& Rollups::operator=(Rollups&&) noexcept = default;

void Rollups::add(const TransactionBatch& b, std::span<const Decision> decisions) {
  Impl& m = *impl_;
  RollupCell total = m.total;
  // The segment cells (tens of thousands) miss the cache: find and prefetch a chunk's cells
  // first, then add to them.
  constexpr std::size_t kChunk = 128;
  // (Indices, not pointers, until the chunk's new blocks are in: blocks may reallocate.)
  std::array<std::uint32_t, kChunk> at;
  std::array<std::int64_t, kChunk> day;
  DayClock clock;
  for (std::size_t from = 0; from < b.size(); from += kChunk) {
    const std::size_t to = std::min(b.size(), from + kChunk);
    for (std::size_t i = from; i < to; ++i) {
      day[i - from] = clock.day(b.time[i]);
      at[i - from] = m.cell_index(b.state[i], b.category[i], clock.hour(b.time[i]));
    }
    RollupCell* const cells = m.cells.data();
    for (std::size_t k = 0; k < to - from; ++k) __builtin_prefetch(cells + at[k], 1);
    for (std::size_t i = from; i < to; ++i) {
      const bool alert = decisions[i].action != Action::kApprove;
      const bool fraud = b.is_fraud[i] == 1;
      const std::int64_t cents = b.amt_cents[i];
      add_to(cells[at[i - from]], cents, alert, fraud);
      add_to(m.demographics[gender_slot(b.gender[i])][m.ages.band(b.dob[i], day[i - from])], cents,
             alert, fraud);
      add_to(total, cents, alert, fraud);
    }
  }
  m.total = total;
}

void Rollups::clear() { *impl_ = Impl{}; }

RollupCell Rollups::total() const noexcept { return impl_->total; }

RollupCell Rollups::demographic(char gender, std::size_t band) const noexcept {
  return impl_->demographics[gender_slot(gender)][std::min(band, kUnknownBand)];
}

std::vector<SegmentRow> Rollups::segments(const Dictionary& dict) const {
  std::vector<SegmentRow> rows;
  impl_->for_each_segment([&](StrId state, StrId category, int hour, const RollupCell& cell) {
    rows.push_back({std::string(dict.view(state)), std::string(dict.view(category)), hour, cell});
  });
  std::sort(rows.begin(), rows.end(), [](const SegmentRow& a, const SegmentRow& b) {
    return std::tie(a.state, a.category, a.hour) < std::tie(b.state, b.category, b.hour);
  });
  return rows;
}

std::vector<std::pair<std::string, RollupCell>> Rollups::by_state(const Dictionary& dict) const {
  absl::flat_hash_map<StrId, RollupCell> sums;
  impl_->for_each_segment(
      [&](StrId state, StrId, int, const RollupCell& cell) { add_cell(sums[state], cell); });
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
  const auto n = std::count_if(impl_->cells.begin(), impl_->cells.end(),
                               [](const RollupCell& c) { return c.transactions != 0; });
  save_cell(w, impl_->total);
  w.varint(static_cast<std::uint64_t>(n));
  impl_->for_each_segment([&](StrId state, StrId category, int hour, const RollupCell& c) {
    w.varint(state);
    w.varint(category);
    w.u8(static_cast<std::uint8_t>(hour));
    save_cell(w, c);
  });
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
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    const auto state = static_cast<StrId>(r.varint());
    const auto category = static_cast<StrId>(r.varint());
    const std::uint8_t hour = r.u8();
    const RollupCell c = load_cell(r);
    if (hour >= kHours || c.transactions == 0) {
      return {ErrorCode::kCorrupt, "rollups: malformed snapshot section"};
    }
    fresh.cell(state, category, hour) = c;
  }
  for (auto& g : fresh.demographics) {
    for (RollupCell& c : g) c = load_cell(r);
  }
  if (!r.ok() || !r.at_end()) return {ErrorCode::kCorrupt, "rollups: malformed snapshot section"};
  *impl_ = std::move(fresh);
  return {};
}

}  // namespace vigil
