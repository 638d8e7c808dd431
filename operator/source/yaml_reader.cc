#include "operator/source/yaml_reader.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/util/status_macros.h"

namespace weft::op {

namespace {

enum class ScalarType { kNull, kBool, kInteger, kFloat, kString };

bool isOneOf(absl::string_view s, std::initializer_list<absl::string_view> words) {
  for (absl::string_view w : words) {
    if (s == w) {
      return true;
    }
  }
  return false;
}

bool isTrue(absl::string_view s) {
  return isOneOf(s, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"});
}

bool isFalse(absl::string_view s) {
  return isOneOf(s, {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"});
}

bool allOf(absl::string_view s, int (*pred)(int)) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

absl::string_view withoutSign(absl::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  return s;
}

bool isInteger(absl::string_view s) {
  s = withoutSign(s);
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    return allOf(s.substr(2), isxdigit);
  }
  return allOf(s, isdigit);
}

// [-+]? ( \.[0-9]+ | [0-9]+ (\.[0-9]*)? ) ([eE][-+]?[0-9]+)?  and .inf / .nan
bool isFloat(absl::string_view s) {
  if (isOneOf(withoutSign(s), {".inf", ".Inf", ".INF"}) || isOneOf(s, {".nan", ".NaN", ".NAN"})) {
    return true;
  }
  s = withoutSign(s);
  const size_t e = s.find_first_of("eE");
  absl::string_view mantissa = s.substr(0, e);
  if (e != absl::string_view::npos && !allOf(withoutSign(s.substr(e + 1)), isdigit)) {
    return false;
  }
  const size_t dot = mantissa.find('.');
  if (dot == absl::string_view::npos) {
    return e != absl::string_view::npos && allOf(mantissa, isdigit);
  }
  const absl::string_view whole = mantissa.substr(0, dot);
  const absl::string_view fraction = mantissa.substr(dot + 1);
  return (whole.empty() || allOf(whole, isdigit)) &&
         (fraction.empty() || allOf(fraction, isdigit)) && !(whole.empty() && fraction.empty());
}

ScalarType classify(const YAML::Node& node) {
  if (node.IsNull()) {
    return ScalarType::kNull;
  }
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") {
    return ScalarType::kString;  // quoted, block, or explicitly a string
  }
  if (tag == "tag:yaml.org,2002:int") {
    return ScalarType::kInteger;
  }
  if (tag == "tag:yaml.org,2002:bool") {
    return ScalarType::kBool;
  }
  if (tag == "tag:yaml.org,2002:float") {
    return ScalarType::kFloat;
  }
  const std::string& s = node.Scalar();
  if (isOneOf(s, {"~", "null", "Null", "NULL", ""})) {
    return ScalarType::kNull;
  }
  if (isTrue(s) || isFalse(s)) {
    return ScalarType::kBool;
  }
  if (isInteger(s)) {
    return ScalarType::kInteger;
  }
  return isFloat(s) ? ScalarType::kFloat : ScalarType::kString;
}

// Kubernetes objects are JSON, and protobuf strings (NodeConfig) must be UTF-8: bytes that
// are not would make the agent refuse the config the operator writes.
bool isUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) {
      return false;
    }
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += len;
  }
  return true;
}

// "a map", "number 8080", "string \"80\"": what was found, for "must be X, got Y".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "null";
    case YAML::NodeType::Scalar:
      break;
  }
  switch (classify(node)) {
    case ScalarType::kNull:
      return "null";
    case ScalarType::kBool:
      return absl::StrCat("boolean ", node.Scalar());
    case ScalarType::kInteger:
    case ScalarType::kFloat:
      return absl::StrCat("number ", node.Scalar());
    case ScalarType::kString:
      break;
  }
  return absl::StrCat("string \"", absl::CEscape(node.Scalar().substr(0, 64)), "\"");
}

std::string join(const std::string& path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

// Bounds for json(): generous for any policy a person writes, small enough that aliases
// (a "billion laughs" document) or self-reference cannot blow up time or the stack.
constexpr int kMaxJsonDepth = 64;
constexpr int kMaxJsonValues = 100000;

// A JSON string literal; bytes that are not UTF-8 become U+FFFD instead of failing.
std::string jsonString(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool YamlValue::present() const {
  return node_.IsDefined() && !node_.IsNull();
}

absl::Status YamlValue::error(absl::string_view problem) const {
  return absl::InvalidArgumentError(absl::StrCat(path_, ": ", problem));
}

absl::StatusOr<YamlMap> YamlValue::map() const {
  YamlMap out;
  out.path_ = path_;
  if (!present()) {
    return out;
  }
  if (!node_.IsMap()) {
    return error(absl::StrCat("must be a map, got ", describe(node_)));
  }
  absl::flat_hash_set<std::string> seen;
  for (const auto& entry : node_) {
    if (!entry.first.IsScalar()) {
      return error(absl::StrCat("keys must be strings, got ", describe(entry.first)));
    }
    const std::string& key = entry.first.Scalar();
    if (!isUtf8(key)) {
      return error("keys must be valid UTF-8");
    }
    if (!seen.insert(key).second) {
      return error(absl::StrCat("key \"", absl::CEscape(key), "\" appears twice"));
    }
    out.entries_.emplace_back(key, YamlValue(entry.second, join(path_, key)));
  }
  return out;
}

absl::StatusOr<std::vector<YamlValue>> YamlValue::list() const {
  std::vector<YamlValue> out;
  if (!present()) {
    return out;
  }
  if (!node_.IsSequence()) {
    return error(absl::StrCat("must be a list, got ", describe(node_)));
  }
  for (size_t i = 0; i < node_.size(); ++i) {
    out.emplace_back(node_[i], absl::StrCat(path_, "[", i, "]"));
  }
  return out;
}

absl::StatusOr<std::string> YamlValue::string() const {
  if (!present()) {
    return std::string();
  }
  if (!node_.IsScalar() || classify(node_) != ScalarType::kString) {
    return error(absl::StrCat("must be a string, got ", describe(node_),
                              node_.IsScalar() ? " (quote it)" : ""));
  }
  if (!isUtf8(node_.Scalar())) {
    return error("must be valid UTF-8");
  }
  return node_.Scalar();
}

absl::StatusOr<bool> YamlValue::boolean(bool when_absent) const {
  if (!present()) {
    return when_absent;
  }
  if (!node_.IsScalar() || classify(node_) != ScalarType::kBool) {
    return error(absl::StrCat("must be true or false, got ", describe(node_)));
  }
  return isTrue(node_.Scalar());
}

absl::StatusOr<int64_t> YamlValue::integer(int64_t min, int64_t max) const {
  if (!present()) {
    return error("required");
  }
  int64_t value = 0;
  if (!isNumber()) {
    return error(absl::StrCat("must be a number, got ", describe(node_)));
  }
  if (!absl::SimpleAtoi(node_.Scalar(), &value) || value < min || value > max) {
    return error(absl::StrCat("must be ", min, "..", max, ", got ", node_.Scalar()));
  }
  return value;
}

absl::StatusOr<uint16_t> YamlValue::port() const {
  ASSIGN_OR_RETURN(const int64_t value, integer(1, 65535));
  return static_cast<uint16_t>(value);
}

absl::StatusOr<Labels> YamlValue::stringMap() const {
  ASSIGN_OR_RETURN(const YamlMap map, this->map());
  Labels out;
  for (const auto& [key, value] : map.entries()) {
    ASSIGN_OR_RETURN(out[key], value.string());
  }
  return out;
}

bool YamlValue::isNumber() const {
  return node_.IsScalar() && classify(node_) == ScalarType::kInteger;
}

absl::StatusOr<std::string> YamlValue::json() const {
  std::string out;
  int budget = kMaxJsonValues;
  RETURN_IF_ERROR(writeJson(out, budget, 0));
  return out;
}

absl::Status YamlValue::writeJson(std::string& out, int& budget, int depth) const {
  if (--budget < 0 || depth > kMaxJsonDepth) {
    return error(absl::StrCat("too large or too deeply nested (more than ", kMaxJsonValues,
                              " values or ", kMaxJsonDepth, " levels)"));
  }
  if (node_.IsMap()) {
    ASSIGN_OR_RETURN(const YamlMap map, this->map());
    out += '{';
    for (size_t i = 0; i < map.entries().size(); ++i) {
      const auto& [key, value] = map.entries()[i];
      absl::StrAppend(&out, i == 0 ? "" : ",", jsonString(key), ":");
      RETURN_IF_ERROR(value.writeJson(out, budget, depth + 1));
    }
    out += '}';
    return absl::OkStatus();
  }
  if (node_.IsSequence()) {
    ASSIGN_OR_RETURN(const std::vector<YamlValue> items, list());
    out += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      out += i == 0 ? "" : ",";
      RETURN_IF_ERROR(items[i].writeJson(out, budget, depth + 1));
    }
    out += ']';
    return absl::OkStatus();
  }
  return writeJsonScalar(out);
}

absl::Status YamlValue::writeJsonScalar(std::string& out) const {
  switch (present() ? classify(node_) : ScalarType::kNull) {
    case ScalarType::kNull:
      out += "null";
      return absl::OkStatus();
    case ScalarType::kBool:
      out += isTrue(node_.Scalar()) ? "true" : "false";
      return absl::OkStatus();
    case ScalarType::kInteger: {
      int64_t value = 0;
      if (!absl::SimpleAtoi(node_.Scalar(), &value)) {
        return error(absl::StrCat("not a 64-bit decimal integer: ", node_.Scalar()));
      }
      absl::StrAppend(&out, value);
      return absl::OkStatus();
    }
    case ScalarType::kFloat: {
      double value = 0;
      if (!absl::SimpleAtod(node_.Scalar(), &value) || !std::isfinite(value)) {
        return error(absl::StrCat("not a finite number: ", node_.Scalar()));
      }
      out += nlohmann::json(value).dump();
      return absl::OkStatus();
    }
    case ScalarType::kString:
      out += jsonString(node_.Scalar());
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

YamlValue YamlMap::get(absl::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) {
      return v;
    }
  }
  return YamlValue(YAML::Node(YAML::NodeType::Undefined), join(path_, key));
}

}  // namespace weft::op
