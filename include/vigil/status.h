// File: vigil/status.h
//
// Error values for vigil's API. Nothing in vigil throws across its API or aborts on bad
// input: calls that can fail return a `Status` or a `Result<T>` (in the spirit of simdjson's
// `error_code` / `simdjson_result` and Velox's `Status`).
//
// **Example**
//   vigil::Result<vigil::Config> cfg = vigil::parse_config(text);
//   if (!cfg.ok()) { log(cfg.status().message()); return; }
//   use(*cfg);
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vigil {

/// Broad category of an error; the message says precisely what went wrong.
enum class ErrorCode : unsigned char {
  kOk = 0,
  kInvalidArgument,   ///< a value or option is malformed or out of range
  kParseError,        ///< text (config, rule expression, record) could not be parsed
  kNotFound,          ///< a named thing (feature, field, rule) does not exist
  kCorrupt,           ///< a snapshot or file failed its checksum or structure checks
  kUnsupported,       ///< a valid request vigil does not implement (e.g. newer snapshot version)
  kIoError,           ///< reading or writing a stream failed
  kResourceExhausted  ///< a configured limit (memory budget, record size) was hit
};

/// Name of an error code, e.g. "parse_error".
std::string_view error_code_name(ErrorCode code) noexcept;

/// Success, or an error code with a human-readable message.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }

  bool ok() const noexcept { return code_ == ErrorCode::kOk; }
  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  /// "parse_error: line 3, column 7: ..." — for logs and CLI output.
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

/// A value of type T, or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an ok Status carries no value");
  }

  bool ok() const noexcept { return v_.index() == 0; }
  /// The error; an ok Status when a value is present.
  Status status() const { return ok() ? Status{} : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace vigil
