// File: vigil/model.h
//
// vigil's data model: the `Transaction` record in the Sparkov / Kaggle schema, its columnar
// twin `TransactionBatch` (one aligned array per field, like DuckDB's DataChunk), the other
// event kinds of a stream (status changes, flag / unflag), a rejected record, and the
// `Decision` the scorer produces.
//
// Units: times are `Micros` (µs since the epoch, UTC); amounts are integer cents, exact;
// `cc_num` is an unsigned 64-bit integer (up to 19 digits, never routed through a double);
// strings are `StrId`s of the engine's `Dictionary`, except `trans_num`, which is kept inline
// (`TransId`) so that an unbounded stream of unique ids never grows the dictionary.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/dictionary.h"
#include "vigil/time.h"

namespace vigil {

/// The fields of the Sparkov / Kaggle schema, in the dataset's column order.
enum class Field : std::uint8_t {
  kTransDateTransTime,
  kCcNum,
  kMerchant,
  kCategory,
  kAmt,
  kFirst,
  kLast,
  kGender,
  kStreet,
  kCity,
  kState,
  kZip,
  kLat,
  kLong,
  kCityPop,
  kJob,
  kDob,
  kTransNum,
  kUnixTime,
  kMerchLat,
  kMerchLong,
  kIsFraud,
};
inline constexpr std::size_t kFieldCount = 22;

/// The Sparkov column name of a field, e.g. "cc_num".
std::string_view field_name(Field f) noexcept;
/// The field of a Sparkov column name; nullopt for unknown names.
std::optional<Field> field_from_name(std::string_view name) noexcept;
/// True for fields whose values are interned strings (merchant, category, city, …).
bool is_string_field(Field f) noexcept;
/// True for fields usable as a grouping key (cc_num, merchant, category, state, zip, city,
/// job, first, last, street, gender).
bool is_key_field(Field f) noexcept;

/// A transaction id held inline (up to 47 bytes; Sparkov's are 32 hex digits).
struct TransId {
  static constexpr std::size_t kMaxSize = 47;
  std::array<char, kMaxSize> bytes{};
  std::uint8_t size = 0;

  /// nullopt if `s` is longer than kMaxSize.
  static std::optional<TransId> from(std::string_view s) noexcept {
    if (s.size() > kMaxSize) return std::nullopt;
    TransId id;
    std::memcpy(id.bytes.data(), s.data(), s.size());
    id.size = static_cast<std::uint8_t>(s.size());
    return id;
  }
  std::string_view view() const noexcept { return {bytes.data(), size}; }
  bool empty() const noexcept { return size == 0; }
  friend bool operator==(const TransId& a, const TransId& b) noexcept {
    return a.view() == b.view();
  }
};
static_assert(sizeof(TransId) == 48);

/// Sentinel values for missing optional fields.
inline constexpr std::int32_t kNoDate = std::numeric_limits<std::int32_t>::min();
inline constexpr std::int64_t kNoUnixTime = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int8_t kUnlabelled = -1;

/// One card transaction (row form). Optional fields hold their sentinel when missing:
/// NaN for coordinates, kNoStr for strings, 0 for zip / city_pop, kNoDate for dob,
/// '\0' for gender, kUnlabelled for is_fraud, kNoUnixTime for unix_time.
struct Transaction {
  Micros time = 0;                       ///< event time (trans_date_trans_time, else unix_time)
  std::int64_t unix_time = kNoUnixTime;  ///< the record's unix_time in seconds, as sent
  std::uint64_t cc_num = 0;
  std::int64_t amt_cents = 0;  ///< amount in cents, exact
  double lat = std::numeric_limits<double>::quiet_NaN();
  double lon = std::numeric_limits<double>::quiet_NaN();
  double merch_lat = std::numeric_limits<double>::quiet_NaN();
  double merch_lon = std::numeric_limits<double>::quiet_NaN();
  StrId merchant = kNoStr;
  StrId category = kNoStr;
  StrId first = kNoStr;
  StrId last = kNoStr;
  StrId street = kNoStr;
  StrId city = kNoStr;
  StrId state = kNoStr;
  StrId job = kNoStr;
  std::uint32_t zip = 0;
  std::uint32_t city_pop = 0;
  std::int32_t dob = kNoDate;          ///< days since the epoch
  char gender = '\0';                  ///< 'F', 'M', or '\0' when missing
  std::int8_t is_fraud = kUnlabelled;  ///< 0, 1, or kUnlabelled
  TransId trans_num;

  double amt() const noexcept { return static_cast<double>(amt_cents) / 100.0; }
};

namespace detail {
/// A fixed-capacity array aligned (and padded) to 64 bytes, so SIMD kernels of any width
/// may load whole registers up to capacity() without bounds checks.
template <typename T>
class AlignedColumn {
 public:
  static constexpr std::size_t kAlign = 64;
  AlignedColumn() = default;
  explicit AlignedColumn(std::size_t capacity)
      : data_(static_cast<T*>(
            ::operator new (padded(capacity) * sizeof(T), std::align_val_t{kAlign}))),
        capacity_(capacity) {
    for (std::size_t i = 0; i < padded(capacity); ++i) new (data_ + i) T();
  }
  ~AlignedColumn() { release(); }
  AlignedColumn(AlignedColumn&& o) noexcept : data_(o.data_), capacity_(o.capacity_) {
    o.data_ = nullptr;
    o.capacity_ = 0;
  }
  AlignedColumn& operator=(AlignedColumn&& o) noexcept {
    if (this != &o) {
      release();
      data_ = o.data_;
      capacity_ = o.capacity_;
      o.data_ = nullptr;
      o.capacity_ = 0;
    }
    return *this;
  }
  AlignedColumn(const AlignedColumn&) = delete;
  AlignedColumn& operator=(const AlignedColumn&) = delete;

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  static std::size_t padded(std::size_t n) noexcept {
    const std::size_t per = kAlign / sizeof(T) > 0 ? kAlign / sizeof(T) : 1;
    return (n + per - 1) / per * per;
  }
  void release() noexcept {
    if (data_ != nullptr) {
      static_assert(std::is_trivially_destructible_v<T>);
      ::operator delete (data_, std::align_val_t{kAlign});
      data_ = nullptr;
    }
  }
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};
}  // namespace detail

/// Columnar batch of transactions: one aligned array per field, a power-of-two capacity.
/// Rows [0, size()) are valid; the padding up to capacity() holds default values.
///
/// **Example**
///   vigil::TransactionBatch batch;          // capacity 1024
///   batch.push_back(tx);
///   double first_amt = batch.amt_cents[0] / 100.0;
class TransactionBatch {
 public:
  static constexpr std::size_t kDefaultCapacity = 1024;

  /// `capacity` is rounded up to a power of two (at least 16).
  explicit TransactionBatch(std::size_t capacity = kDefaultCapacity);
  TransactionBatch(TransactionBatch&&) noexcept = default;
  TransactionBatch& operator=(TransactionBatch&&) noexcept = default;

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  bool full() const noexcept { return size_ == capacity_; }
  /// Forgets all rows (columns keep their memory).
  void clear() noexcept { size_ = 0; }
  /// Appends a row; returns false (and does nothing) when full.
  bool push_back(const Transaction& tx) noexcept;
  /// The row `i` as a record.
  Transaction row(std::size_t i) const noexcept;
  /// Sets the number of valid rows after writing columns directly (n <= capacity()).
  void set_size(std::size_t n) noexcept { size_ = n; }
  /// The grouping-key value of `field` at row `i`: cc_num itself, a string field's StrId,
  /// zip, or the gender character. Meaningful for is_key_field(field) only.
  std::uint64_t key(Field field, std::size_t i) const noexcept;

  detail::AlignedColumn<Micros> time;
  detail::AlignedColumn<std::int64_t> unix_time;
  detail::AlignedColumn<std::uint64_t> cc_num;
  detail::AlignedColumn<std::int64_t> amt_cents;
  detail::AlignedColumn<double> lat, lon, merch_lat, merch_lon;
  detail::AlignedColumn<StrId> merchant, category, first, last, street, city, state, job;
  detail::AlignedColumn<std::uint32_t> zip, city_pop;
  detail::AlignedColumn<std::int32_t> dob;
  detail::AlignedColumn<char> gender;
  detail::AlignedColumn<std::int8_t> is_fraud;
  detail::AlignedColumn<TransId> trans_num;

 private:
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

/// Feature values of one batch: one aligned column of doubles per feature (column-major, like
/// the batch itself), `rows()` valid rows, NaN for a missing value. Produced by the feature
/// store, read by the scorer.
class FeatureMatrix {
 public:
  FeatureMatrix() = default;
  FeatureMatrix(std::size_t columns, std::size_t capacity) { reset(columns, capacity); }

  /// Shapes the matrix; keeps the memory when the shape does not grow. Rows become 0.
  void reset(std::size_t columns, std::size_t capacity) {
    if (columns != cols_.size() || capacity > capacity_) {
      cols_.clear();
      cols_.reserve(columns);
      for (std::size_t j = 0; j < columns; ++j) cols_.emplace_back(capacity);
      capacity_ = capacity;
    }
    rows_ = 0;
  }
  std::size_t columns() const noexcept { return cols_.size(); }
  std::size_t rows() const noexcept { return rows_; }
  std::size_t capacity() const noexcept { return capacity_; }
  void set_rows(std::size_t n) noexcept { rows_ = n; }
  double* column(std::size_t j) noexcept { return cols_[j].data(); }
  const double* column(std::size_t j) const noexcept { return cols_[j].data(); }
  double at(std::size_t row, std::size_t col) const noexcept { return cols_[col][row]; }

 private:
  std::vector<detail::AlignedColumn<double>> cols_;
  std::size_t rows_ = 0;
  std::size_t capacity_ = 0;
};

/// A transaction's status changed (from a CDC update): e.g. processed → disputed.
struct StatusChange {
  TransId trans_num;        ///< the transaction whose status changed
  Micros time = 0;          ///< when the change happened (event time)
  StrId status = kNoStr;    ///< new status, interned (e.g. "disputed")
  StrId previous = kNoStr;  ///< old status when the source says so, else kNoStr
};

/// An entity (card, merchant, any key field) is flagged or unflagged.
struct FlagChange {
  Field entity = Field::kCcNum;  ///< which key field the id belongs to
  std::uint64_t key = 0;         ///< key value as TransactionBatch::key() gives it
  bool flagged = true;           ///< false: unflag
  Micros time = 0;               ///< event time of the change
  Micros until = std::numeric_limits<Micros>::max();  ///< expiry (exclusive), event time
  StrId reason = kNoStr;
};

/// A record the ingestor could not accept, for the dead-letter sink.
struct Rejected {
  std::uint64_t offset = 0;  ///< byte offset of the record's first byte in the stream
  std::uint64_t line = 0;    ///< 1-based line number of the record's first byte
  std::string field;         ///< field at fault ("" when the record as a whole is bad)
  std::string reason;        ///< precise reason, e.g. "lat 123 out of range [-90, 90]"
  std::string_view record;   ///< the raw bytes (valid only during the callback)
};

/// What to do with a transaction.
enum class Action : std::uint8_t { kApprove = 0, kReview = 1, kDecline = 2 };
/// "approve", "review" or "decline".
std::string_view action_name(Action a) noexcept;

/// Reason codes: < kModelReasonBase is a rule index of the compiled rule set;
/// kModelReasonBase + i is the model's feature i; kFlaggedReasonBase + field is a flagged join hit.
using ReasonCode = std::uint16_t;
inline constexpr ReasonCode kModelReasonBase = 0x8000;
inline constexpr ReasonCode kNoReason = 0xFFFF;

/// The scorer's verdict on one transaction.
struct Decision {
  static constexpr std::size_t kMaxReasons = 6;
  std::int32_t score = 0;  ///< 0..1000
  Action action = Action::kApprove;
  std::uint8_t reason_count = 0;  ///< valid entries of reasons, strongest first
  std::array<ReasonCode, kMaxReasons> reasons{};
  friend bool operator==(const Decision&, const Decision&) = default;
};

/// Great-circle distance in km (haversine, mean Earth radius R = 6371.0088 km), degrees in:
///   a = sin²(Δφ/2) + (cos φ1 · cos φ2) · sin²(Δλ/2),  d = 2R · asin(√min(a, 1))
/// with φ, λ in radians (degrees · π/180). NaN in → NaN out; the same point twice → 0.
/// sin, cos and asin are vigil's own (within 1.5 ulp), so the result is the same on every
/// machine and within 1e-14 (relative) of the formula in exact arithmetic, except where the
/// inputs' own rounding dominates (near-antipodal points, differences across the dateline).
double haversine_km(double lat1, double lon1, double lat2, double lon2) noexcept;

/// cos(lat · π/180): the per-point factor of haversine_km, for callers that cache it per
/// point (a card's home, its previous merchant). Any finite lat gives a finite answer.
double haversine_cos_lat(double lat) noexcept;

/// haversine_km with each point's haversine_cos_lat supplied: bit-identical to
/// haversine_km(lat1, lon1, lat2, lon2) when cos_lat1 == haversine_cos_lat(lat1) and
/// cos_lat2 == haversine_cos_lat(lat2) (haversine_km is defined as this call).
double haversine_km_cos(double lat1, double lon1, double cos_lat1, double lat2, double lon2,
                        double cos_lat2) noexcept;

}  // namespace vigil
