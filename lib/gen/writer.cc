// Text forms of generated records: Kaggle CSV and NDJSON (formats in vigil/generate.h).
// Hand-rolled formatting (std::to_chars, no locale, no printf) so that output is fast and
// byte-identical everywhere; every number is printed from its exact stored value.
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "model/text.h"
#include "vigil/generate.h"

namespace vigil {
namespace {

constexpr std::string_view kHeader =
    ",trans_date_trans_time,cc_num,merchant,category,amt,first,last,gender,street,city,state,"
    "zip,lat,long,city_pop,job,dob,trans_num,unix_time,merch_lat,merch_long,is_fraud";

template <typename Int>
void append_int(Int v, std::string& out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Shortest round-trip decimal in fixed notation (never "1e-04"), so CSV readers that expect
// plain decimals and JSON parsers both read back the exact double.
void append_coordinate(double v, std::string& out) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  out.append(buf, r.ptr);
}

void append_digits2(int v, char* p) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

void append_date(std::int64_t days, std::string& out) {
  const CivilDate c = civil_from_days(days);
  char buf[10];
  const int y = c.year;  // validated options keep years in 1810..9100
  buf[0] = static_cast<char>('0' + y / 1000 % 10);
  buf[1] = static_cast<char>('0' + y / 100 % 10);
  buf[2] = static_cast<char>('0' + y / 10 % 10);
  buf[3] = static_cast<char>('0' + y % 10);
  buf[4] = '-';
  append_digits2(static_cast<int>(c.month), buf + 5);
  buf[7] = '-';
  append_digits2(static_cast<int>(c.day), buf + 8);
  out.append(buf, sizeof buf);
}

// "YYYY-MM-DD HH:MM:SS" (UTC), fractions of a second dropped.
void append_timestamp(Micros t, std::string& out) {
  const std::int64_t days = floor_div(t, kMicrosPerDay);
  const std::int64_t secs = floor_div(t - days * kMicrosPerDay, kMicrosPerSecond);
  append_date(days, out);
  char buf[9];
  buf[0] = ' ';
  append_digits2(static_cast<int>(secs / 3600), buf + 1);
  buf[3] = ':';
  append_digits2(static_cast<int>(secs / 60 % 60), buf + 4);
  buf[6] = ':';
  append_digits2(static_cast<int>(secs % 60), buf + 7);
  out.append(buf, sizeof buf);
}

std::int64_t unix_seconds(const Transaction& tx) {
  return tx.unix_time != kNoUnixTime ? tx.unix_time : floor_div(tx.time, kMicrosPerSecond);
}

// Missing values (the Transaction sentinels) are empty CSV fields.
void append_csv_coordinate(double v, std::string& out) {
  if (!std::isnan(v)) append_coordinate(v, out);
}

void append_csv_row(const Transaction& tx, const Dictionary& dict, std::uint64_t index,
                    std::string& out) {
  auto str = [&](StrId id) {
    detail::append_csv_field(out, dict.view(id));
    out.push_back(',');
  };
  append_int(index, out);
  out.push_back(',');
  append_timestamp(tx.time, out);
  out.push_back(',');
  append_int(tx.cc_num, out);
  out.push_back(',');
  str(tx.merchant);
  str(tx.category);
  append_amount(tx.amt_cents, out);
  out.push_back(',');
  str(tx.first);
  str(tx.last);
  if (tx.gender != '\0') out.push_back(tx.gender);
  out.push_back(',');
  str(tx.street);
  str(tx.city);
  str(tx.state);
  if (tx.zip != 0) append_int(tx.zip, out);
  out.push_back(',');
  append_csv_coordinate(tx.lat, out);
  out.push_back(',');
  append_csv_coordinate(tx.lon, out);
  out.push_back(',');
  if (tx.city_pop != 0) append_int(tx.city_pop, out);
  out.push_back(',');
  str(tx.job);
  if (tx.dob != kNoDate) append_date(tx.dob, out);
  out.push_back(',');
  detail::append_csv_field(out, tx.trans_num.view());
  out.push_back(',');
  append_int(unix_seconds(tx), out);
  out.push_back(',');
  append_csv_coordinate(tx.merch_lat, out);
  out.push_back(',');
  append_csv_coordinate(tx.merch_lon, out);
  out.push_back(',');
  if (tx.is_fraud != kUnlabelled) append_int(static_cast<int>(tx.is_fraud), out);
  out.push_back('\n');
}

// Missing numbers are JSON null.
void append_json_coordinate(double v, std::string& out) {
  if (std::isnan(v)) {
    out.append("null");
  } else {
    append_coordinate(v, out);
  }
}

void append_ndjson_transaction(const Transaction& tx, const Dictionary& dict, std::string& out) {
  auto key = [&](std::string_view k) {
    out.append(k);  // k is `,"name":` with its punctuation, to keep appends few
  };
  key("{\"trans_date_trans_time\":\"");
  append_timestamp(tx.time, out);
  key("\",\"cc_num\":");
  append_int(tx.cc_num, out);
  key(",\"merchant\":");
  detail::append_json_string(out, dict.view(tx.merchant));
  key(",\"category\":");
  detail::append_json_string(out, dict.view(tx.category));
  key(",\"amt\":");
  append_amount(tx.amt_cents, out);
  key(",\"first\":");
  detail::append_json_string(out, dict.view(tx.first));
  key(",\"last\":");
  detail::append_json_string(out, dict.view(tx.last));
  key(",\"gender\":");
  detail::append_json_string(
      out, tx.gender != '\0' ? std::string_view(&tx.gender, 1) : std::string_view());
  key(",\"street\":");
  detail::append_json_string(out, dict.view(tx.street));
  key(",\"city\":");
  detail::append_json_string(out, dict.view(tx.city));
  key(",\"state\":");
  detail::append_json_string(out, dict.view(tx.state));
  key(",\"zip\":");
  append_int(tx.zip, out);
  key(",\"lat\":");
  append_json_coordinate(tx.lat, out);
  key(",\"long\":");
  append_json_coordinate(tx.lon, out);
  key(",\"city_pop\":");
  append_int(tx.city_pop, out);
  key(",\"job\":");
  detail::append_json_string(out, dict.view(tx.job));
  key(",\"dob\":");
  if (tx.dob != kNoDate) {
    out.push_back('"');
    append_date(tx.dob, out);
    out.push_back('"');
  } else {
    out.append("null");
  }
  key(",\"trans_num\":");
  detail::append_json_string(out, tx.trans_num.view());
  key(",\"unix_time\":");
  append_int(unix_seconds(tx), out);
  key(",\"merch_lat\":");
  append_json_coordinate(tx.merch_lat, out);
  key(",\"merch_long\":");
  append_json_coordinate(tx.merch_lon, out);
  key(",\"is_fraud\":");
  if (tx.is_fraud != kUnlabelled) {
    append_int(static_cast<int>(tx.is_fraud), out);
  } else {
    out.append("null");
  }
  out.append("}\n");
}

void append_quoted_timestamp(Micros t, std::string& out) {
  out.push_back('"');
  append_timestamp(t, out);
  out.push_back('"');
}

void append_ndjson_status(const StatusChange& s, const Dictionary& dict, std::string& out) {
  out.append("{\"type\":\"status\",\"trans_num\":");
  detail::append_json_string(out, s.trans_num.view());
  out.append(",\"status\":");
  detail::append_json_string(out, dict.view(s.status));
  out.append(",\"time\":");
  append_quoted_timestamp(s.time, out);
  out.append("}\n");
}

void append_ndjson_flag(const FlagChange& f, const Dictionary& dict, std::string& out) {
  out.append(f.flagged ? "{\"type\":\"flag\",\"entity\":" : "{\"type\":\"unflag\",\"entity\":");
  detail::append_json_string(out, field_name(f.entity));
  out.append(",\"id\":");
  // The id is the key as text, always a JSON string: a string field's value, the gender
  // letter, or the digits of a card number or zip (see TransactionBatch::key).
  if (is_string_field(f.entity)) {
    detail::append_json_string(out, dict.view(static_cast<StrId>(f.key)));
  } else if (f.entity == Field::kGender) {
    const char letter = static_cast<char>(f.key);
    detail::append_json_string(out, std::string_view(&letter, 1));
  } else {
    out.push_back('"');
    append_int(f.key, out);
    out.push_back('"');
  }
  if (f.flagged) {
    out.append(",\"reason\":");
    detail::append_json_string(out, dict.view(f.reason));
    if (f.until != std::numeric_limits<Micros>::max()) {
      out.append(",\"until\":");
      append_quoted_timestamp(f.until, out);
    }
  }
  out.append(",\"time\":");
  append_quoted_timestamp(f.time, out);
  out.append("}\n");
}

}  // namespace

void append_amount(std::int64_t cents, std::string& out) {
  // Negate in unsigned arithmetic so that INT64_MIN is printed correctly too.
  std::uint64_t magnitude = static_cast<std::uint64_t>(cents);
  if (cents < 0) {
    out.push_back('-');
    magnitude = 0 - magnitude;
  }
  append_int(magnitude / 100, out);
  char frac[3] = {'.', static_cast<char>('0' + magnitude % 100 / 10),
                  static_cast<char>('0' + magnitude % 10)};
  out.append(frac, sizeof frac);
}

std::string_view kaggle_csv_header() noexcept { return kHeader; }

std::string_view output_format_name(OutputFormat format) noexcept {
  return format == OutputFormat::kCsv ? "csv" : "ndjson";
}

std::optional<OutputFormat> output_format_from_name(std::string_view name) noexcept {
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "ndjson") return OutputFormat::kNdjson;
  return std::nullopt;
}

void RecordWriter::append_header(std::string& out) const {
  if (format_ != OutputFormat::kCsv) return;
  out.append(kHeader);
  out.push_back('\n');
}

void RecordWriter::append(const Transaction& tx, std::string& out) {
  if (format_ == OutputFormat::kCsv) {
    append_csv_row(tx, *dictionary_, next_index_++, out);
  } else {
    append_ndjson_transaction(tx, *dictionary_, out);
  }
}

Status RecordWriter::append(const GeneratedRecord& record, std::string& out) {
  switch (record.kind) {
    case RecordKind::kTransaction: append(record.transaction, out); return {};
    case RecordKind::kStatus:
    case RecordKind::kFlag:
      if (format_ == OutputFormat::kCsv) {
        return {ErrorCode::kInvalidArgument, "CSV holds transactions only; write events as NDJSON"};
      }
      if (record.kind == RecordKind::kStatus) {
        append_ndjson_status(record.status, *dictionary_, out);
      } else {
        append_ndjson_flag(record.flag, *dictionary_, out);
      }
      return {};
  }
  return {};
}

}  // namespace vigil
