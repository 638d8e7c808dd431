#include "agent/tunnel/sni.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace weft::agent::tunnel {
namespace {

using common::identity::SpiffeId;

// Every label of a host name: 1..63 of [a-z0-9-] (SPIFFE allows '_' and empty labels in trust
// domains; SNI does not).
absl::Status checkHostLabels(absl::string_view name) {
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > 63) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", name, "\" has a label that is empty or longer than 63"));
    }
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", name, "\" has a character a host name cannot carry"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> encodeServerName(const SpiffeId& id) {
  std::string name = absl::StrCat(id.service_account, ".", id.namespace_name, ".", id.trust_domain,
                                  kServerNameSuffix);
  if (name.size() > kMaxServerNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("identity ", id.toString(),
                                                   " is too long for a TLS server name (",
                                                   name.size(), " > 253 characters)"));
  }
  if (absl::Status status = checkHostLabels(name); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identity ", id.toString(), " cannot be a TLS server name: ", status.message()));
  }
  return name;
}

absl::StatusOr<SpiffeId> decodeServerName(absl::string_view server_name,
                                          absl::string_view trust_domain) {
  const std::string suffix = absl::StrCat(".", trust_domain, kServerNameSuffix);
  absl::string_view rest = server_name;
  const size_t dot = rest.size() > suffix.size() ? rest.rfind('.', rest.size() - suffix.size() - 1)
                                                 : absl::string_view::npos;
  if (!absl::ConsumeSuffix(&rest, suffix) || dot == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("TLS server name \"", server_name.substr(0, 64),
                                                   "\" is not <sa>.<ns>.", trust_domain,
                                                   kServerNameSuffix));
  }
  auto id = SpiffeId::fromParts(trust_domain, rest.substr(dot + 1), rest.substr(0, dot));
  if (!id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("TLS server name \"", server_name.substr(0, 64),
                                                   "\": ", id.status().message()));
  }
  return id;
}

}  // namespace weft::agent::tunnel
