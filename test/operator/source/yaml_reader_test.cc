#include "operator/source/yaml_reader.h"

#include <catch2/catch.hpp>
#include <string>

namespace weft::op {
namespace {

YamlValue valueOf(const std::string& scalar) {
  return YamlValue(YAML::Load("v: " + scalar)["v"], "v");
}

// How a plain or quoted scalar reads, as Kubernetes (go-yaml, YAML 1.1) would read it.
TEST_CASE("scalars resolve to the type Kubernetes would give them") {
  struct Case {
    const char* yaml;
    const char* type;  // string, number, boolean, null, other
  };
  const Case cases[] = {
      {"web", "string"},
      {"\"80\"", "string"},
      {"'true'", "string"},
      {"!!str 5", "string"},
      {"2024-01-01", "string"},
      {"1.2.3", "string"},
      {"80", "number"},
      {"-3", "number"},
      {"+7", "number"},
      {"0x1F", "number"},
      {"1.5", "other"},
      {"1e3", "other"},
      {".inf", "other"},
      {"-.inf", "other"},
      {".nan", "other"},
      {"true", "boolean"},
      {"False", "boolean"},
      {"yes", "boolean"},
      {"on", "boolean"},
      {"OFF", "boolean"},
      {"y", "boolean"},
      {"n", "boolean"},
      {"~", "null"},
      {"null", "null"},
      {"", "null"},
      {"[1]", "other"},
      {"{a: b}", "other"},
  };
  for (const Case& c : cases) {
    INFO("v: " << c.yaml);
    const YamlValue value = valueOf(c.yaml);
    const std::string type = std::string(c.type);
    CHECK(value.string().ok() == (type == "string" || type == "null"));
    CHECK(value.isNumber() == (type == "number"));
    CHECK(value.boolean(false).ok() == (type == "boolean" || type == "null"));
    CHECK(value.present() == (type != "null"));
  }
}

TEST_CASE("booleans read as YAML 1.1 reads them") {
  CHECK(*valueOf("yes").boolean(false));
  CHECK(*valueOf("On").boolean(false));
  CHECK_FALSE(*valueOf("no").boolean(true));
  CHECK(*valueOf("~").boolean(true));  // absent: the default
}

TEST_CASE("integers are range-checked and absent ones are required") {
  CHECK(*valueOf("8080").port() == 8080);
  CHECK(valueOf("0").port().status().message() == "v: must be 1..65535, got 0");
  CHECK(valueOf("99999999999999999999").integer(0, 10).status().message() ==
        "v: must be 0..10, got 99999999999999999999");
  CHECK(valueOf("~").port().status().message() == "v: required");
  CHECK(valueOf("web").port().status().message() == "v: must be a number, got string \"web\"");
}

TEST_CASE("json() writes resolved types and keeps key order") {
  const YamlValue spec(YAML::Load("{b: 1, a: [yes, '2', 1.5, ~, \"x\\\"y\"]}"), "spec");
  CHECK(*spec.json() == R"({"b":1,"a":[true,"2",1.5,null,"x\"y"]})");
  CHECK(YamlValue(YAML::Load("{a: .inf}"), "spec").json().status().message() ==
        "spec.a: not a finite number: .inf");
}

}  // namespace
}  // namespace weft::op
