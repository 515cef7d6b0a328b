#include "cli/io.h"

#include <sys/stat.h>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace vigil::cli {

Input::Input(const std::string& path) {
  if (path == "-") {
    file_ = stdin;
    return;
  }
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    error_ = "cannot open '" + path + "': " + std::strerror(errno);
    return;
  }
  owned_ = true;
  struct stat st {};
  if (::fstat(fileno(file_), &st) == 0 && S_ISREG(st.st_mode))
    size_ = static_cast<std::uint64_t>(st.st_size);
}

Input::~Input() {
  if (owned_) std::fclose(file_);
}

std::size_t Input::read(std::string& buf) {
  const std::size_t n = std::fread(buf.data(), 1, buf.size(), file_);
  if (n == 0 && std::ferror(file_)) failed_ = true;
  return n;
}

Output::Output(const std::string& path) {
  if (path.empty() || path == "-") {
    file_ = stdout;
  } else {
    file_ = std::fopen(path.c_str(), "wb");
    if (file_ == nullptr) {
      error_ = "cannot write '" + path + "': " + std::strerror(errno);
      return;
    }
    owned_ = true;
  }
  buf_.reserve(1u << 21);
}

Output::~Output() { close(); }

void Output::flush() {
  if (file_ == nullptr || buf_.empty()) return;
  if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
    failed_ = true;
    error_ = std::string("write failed: ") + std::strerror(errno);
  }
  buf_.clear();
}

bool Output::close() {
  if (file_ == nullptr) return !failed_;
  flush();
  if (std::fflush(file_) != 0) failed_ = true;
  if (owned_ && std::fclose(file_) != 0) failed_ = true;
  file_ = nullptr;
  return !failed_;
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  Input in(path);
  if (!in.ok()) {
    error = in.error();
    return false;
  }
  std::string chunk(1 << 16, '\0');
  out.clear();
  while (const std::size_t n = in.read(chunk)) out.append(chunk.data(), n);
  if (in.failed()) {
    error = "read error on '" + path + "'";
    return false;
  }
  return true;
}

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string with_commas(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace vigil::cli
