#include <catch2/catch.hpp>
#include <sstream>

#include "model/binary_io.h"
#include "vigil/dictionary.h"

using namespace vigil;

TEST_CASE("Dictionary interns densely with 0 = empty", "[model][dictionary]") {
  Dictionary d;
  CHECK(d.size() == 1);
  CHECK(d.intern("") == kNoStr);
  const StrId a = d.intern("grocery_pos");
  const StrId b = d.intern("misc_net");
  CHECK(a == 1);
  CHECK(b == 2);
  CHECK(d.intern("grocery_pos") == a);
  CHECK(d.find("misc_net") == b);
  CHECK_FALSE(d.find("travel"));
  CHECK(d.view(a) == "grocery_pos");
  // Views stay valid as the dictionary grows.
  const std::string_view va = d.view(a);
  for (int i = 0; i < 10000; ++i) d.intern(std::string("s").append(std::to_string(i)));
  CHECK(va == "grocery_pos");
}

TEST_CASE("Dictionary save/load is byte-stable and refuses corruption", "[model][dictionary]") {
  Dictionary d;
  for (int i = 0; i < 500; ++i) d.intern("merchant_" + std::to_string(i * 7919 % 1000));
  std::ostringstream out;
  REQUIRE(d.save(out).ok());
  const std::string image = out.str();

  Dictionary e;
  std::istringstream in(image);
  REQUIRE(e.load(in).ok());
  REQUIRE(e.size() == d.size());
  for (StrId i = 0; i < d.size(); ++i) REQUIRE(e.view(i) == d.view(i));
  std::ostringstream again;
  REQUIRE(e.save(again).ok());
  CHECK(again.str() == image);

  // Every truncation and every single-byte flip is refused, and the target stays as it was.
  Dictionary target;
  target.intern("keep");
  for (std::size_t cut = 0; cut < image.size(); cut += 13) {
    std::istringstream t(image.substr(0, cut));
    REQUIRE_FALSE(target.load(t).ok());
  }
  for (std::size_t pos = 0; pos < image.size(); pos += 7) {
    std::string bad = image;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x20);
    std::istringstream t(bad);
    REQUIRE_FALSE(target.load(t).ok());
  }
  CHECK(target.size() == 2);
  CHECK(target.view(1) == "keep");
}

TEST_CASE("BinaryReader never over-reads", "[model][snapshot]") {
  detail::BinaryWriter w;
  w.varint(300);
  w.svarint(-5);
  w.str("hello");
  w.f64(2.5);
  detail::BinaryReader r(w.data());
  CHECK(r.varint() == 300);
  CHECK(r.svarint() == -5);
  CHECK(r.str() == "hello");
  CHECK(r.f64() == 2.5);
  CHECK(r.ok());
  CHECK(r.at_end());
  CHECK(r.u64() == 0);
  CHECK_FALSE(r.ok());
  detail::BinaryReader big("\xff\xff\xff\xff\x0f");
  CHECK(big.count(1) == 0);
  CHECK_FALSE(big.ok());
}
