#include "common/identity/spiffe_id.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace weft::common::identity {
namespace {

constexpr absl::string_view kScheme = "spiffe://";
// Error messages quote the input; a hostile peer must not be able to make them huge. Bytes
// are cut before escaping, which can quadruple them ("\xff").
constexpr size_t kMaxQuotedLength = 64;

std::string quote(absl::string_view text) {
  std::string quoted = absl::CHexEscape(text.substr(0, kMaxQuotedLength));
  if (text.size() > kMaxQuotedLength) {
    absl::StrAppend(&quoted, "...");
  }
  return absl::StrCat("\"", quoted, "\"");
}

absl::Status invalid(absl::string_view text, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("invalid SPIFFE ID ", quote(text), ": ", reason));
}

bool isLowerAlnum(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c);
}

// Kubernetes DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool isDnsLabel(absl::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!isLowerAlnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// Kubernetes DNS-1123 subdomain: dot-separated labels.
bool isDnsSubdomain(absl::string_view s) {
  for (absl::string_view label : absl::StrSplit(s, '.')) {
    if (!isDnsLabel(label)) {
      return false;
    }
  }
  return true;
}

absl::Status validateNamespace(absl::string_view ns) {
  if (ns.size() > kMaxNamespaceLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("namespace is longer than ", kMaxNamespaceLength, " characters"));
  }
  if (!isDnsLabel(ns)) {
    return absl::InvalidArgumentError(
        absl::StrCat("namespace ", quote(ns),
                     " is not a Kubernetes name (lowercase letters, digits and '-', "
                     "starting and ending with a letter or digit)"));
  }
  return absl::OkStatus();
}

absl::Status validateServiceAccount(absl::string_view sa) {
  if (sa.size() > kMaxServiceAccountLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("service account is longer than ", kMaxServiceAccountLength, " characters"));
  }
  if (!isDnsSubdomain(sa)) {
    return absl::InvalidArgumentError(
        absl::StrCat("service account ", quote(sa),
                     " is not a Kubernetes name (dot-separated lowercase letters, digits and "
                     "'-', each part starting and ending with a letter or digit)"));
  }
  return absl::OkStatus();
}

// The authority must be a bare trust domain; name the URI part that is there instead.
absl::Status validateAuthority(absl::string_view authority) {
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError("userinfo ('@') is not allowed");
  }
  if (authority.find(':') != absl::string_view::npos) {
    return absl::InvalidArgumentError("a port (':') is not allowed");
  }
  return validateTrustDomain(authority);
}

// The path is exactly /ns/<ns>/sa/<sa>; returns {ns, sa}.
absl::StatusOr<std::pair<absl::string_view, absl::string_view>> splitPath(absl::string_view path) {
  if (path.find('%') != absl::string_view::npos) {
    return absl::InvalidArgumentError("percent-encoding is not allowed in the path");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() != 5 || !parts[0].empty() || parts[1] != "ns" || parts[3] != "sa") {
    return absl::InvalidArgumentError(
        absl::StrCat("path ", quote(path), " is not /ns/<namespace>/sa/<service-account>"));
  }
  return std::make_pair(parts[2], parts[4]);
}

absl::Status validateParts(absl::string_view ns, absl::string_view sa) {
  absl::Status status = validateNamespace(ns);
  if (status.ok()) {
    status = validateServiceAccount(sa);
  }
  return status;
}

}  // namespace

absl::Status validateTrustDomain(absl::string_view trust_domain) {
  if (trust_domain.empty()) {
    return absl::InvalidArgumentError("the trust domain is empty");
  }
  if (trust_domain.size() > kMaxTrustDomainLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("the trust domain is longer than ", kMaxTrustDomainLength, " characters"));
  }
  for (char c : trust_domain) {
    if (!isLowerAlnum(c) && c != '.' && c != '-' && c != '_') {
      return absl::InvalidArgumentError(
          absl::StrCat("trust domain ", quote(trust_domain),
                       " may hold only lowercase letters, digits, '.', '-' and '_'"));
    }
  }
  return absl::OkStatus();
}

std::string trustDomainUri(absl::string_view trust_domain) {
  return absl::StrCat(kScheme, trust_domain);
}

bool hasSpiffeScheme(absl::string_view uri) {
  return absl::StartsWithIgnoreCase(uri, kScheme);
}

absl::StatusOr<SpiffeId> SpiffeId::parse(absl::string_view text) {
  if (text.size() > kMaxSpiffeIdLength) {
    return invalid(text, absl::StrCat("longer than ", kMaxSpiffeIdLength, " bytes"));
  }
  if (!absl::StartsWith(text, kScheme)) {
    return invalid(text, hasSpiffeScheme(text) ? "the scheme must be lowercase \"spiffe://\""
                                               : "does not start with \"spiffe://\"");
  }
  const absl::string_view rest = text.substr(kScheme.size());
  if (rest.find('?') != absl::string_view::npos) {
    return invalid(text, "a query ('?') is not allowed");
  }
  if (rest.find('#') != absl::string_view::npos) {
    return invalid(text, "a fragment ('#') is not allowed");
  }
  const size_t slash = rest.find('/');
  const absl::string_view authority = rest.substr(0, slash);
  if (absl::Status s = validateAuthority(authority); !s.ok()) {
    return invalid(text, s.message());
  }
  if (slash == absl::string_view::npos) {
    return invalid(text, "no path; expected /ns/<namespace>/sa/<service-account>");
  }
  auto path = splitPath(rest.substr(slash));
  if (!path.ok()) {
    return invalid(text, path.status().message());
  }
  if (absl::Status s = validateParts(path->first, path->second); !s.ok()) {
    return invalid(text, s.message());
  }
  return SpiffeId{std::string(authority), std::string(path->first), std::string(path->second)};
}

absl::StatusOr<SpiffeId> SpiffeId::fromParts(absl::string_view trust_domain,
                                             absl::string_view namespace_name,
                                             absl::string_view service_account) {
  absl::Status status = validateTrustDomain(trust_domain);
  if (status.ok()) {
    status = validateParts(namespace_name, service_account);
  }
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid SPIFFE ID parts: ", status.message()));
  }
  return SpiffeId{std::string(trust_domain), std::string(namespace_name),
                  std::string(service_account)};
}

std::string SpiffeId::toString() const {
  return absl::StrCat(kScheme, trust_domain, "/ns/", namespace_name, "/sa/", service_account);
}

}  // namespace weft::common::identity
