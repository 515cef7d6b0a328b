// Small I/O helpers shared by the CLI's subcommands.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace vigil::cli {

/// An input stream: a file, or stdin for "-". Reads in chunks of the caller's size.
class Input {
 public:
  /// Opens `path`; on failure ok() is false and error() says why.
  explicit Input(const std::string& path);
  ~Input();
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  bool ok() const noexcept { return file_ != nullptr; }
  const std::string& error() const noexcept { return error_; }
  /// Total size when known (regular files), else 0.
  std::uint64_t size() const noexcept { return size_; }
  /// Reads up to buf.size() bytes; 0 at end of input. Sets failed() on a read error.
  std::size_t read(std::string& buf);
  bool failed() const noexcept { return failed_; }

 private:
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  bool failed_ = false;
  std::uint64_t size_ = 0;
  std::string error_;
};

/// A buffered output: a file, or stdout for "-" / "". Flushes in large writes.
class Output {
 public:
  explicit Output(const std::string& path);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  bool ok() const noexcept { return file_ != nullptr && !failed_; }
  const std::string& error() const noexcept { return error_; }
  /// The pending buffer: append to it, then call maybe_flush().
  std::string& buffer() noexcept { return buf_; }
  void maybe_flush() {
    if (buf_.size() >= (1u << 20)) flush();
  }
  void flush();
  /// Flushes and closes; false on a write error.
  bool close();

 private:
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  bool failed_ = false;
  std::string buf_;
  std::string error_;
};

/// Reads a whole file ("-" for stdin) into `out`; false with `error` set on failure.
bool read_file(const std::string& path, std::string& out, std::string& error);

/// Seconds on a monotonic clock (the CLI may read clocks; the library never does).
double seconds_now();

/// "1,234,567"
std::string with_commas(std::uint64_t n);

}  // namespace vigil::cli
