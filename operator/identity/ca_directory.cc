#include "operator/identity/ca_directory.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/identity/keys.h"
#include "common/identity/pem.h"
#include "common/identity/spiffe_id.h"
#include "common/util/file.h"
#include "common/util/status_macros.h"

namespace weft::op {

using common::identity::CertificateAuthority;

namespace {

absl::Status createCa(const std::string& dir, const std::string& trust_domain, absl::Time now) {
  ASSIGN_OR_RETURN(CertificateAuthority ca,
                   CertificateAuthority::selfSigned(trust_domain, kSelfSignedCaValidity, now));
  ASSIGN_OR_RETURN(const std::string key_pem, ca.keyPem());
  ASSIGN_OR_RETURN(const std::string chain_pem, ca.chainPem());
  // The key first: a ca.pem without its key would be a CA that cannot be loaded.
  RETURN_IF_ERROR(common::writeFileAtomically(dir + "/ca-key.pem", key_pem, 0600));
  return common::writeFileAtomically(dir + "/ca.pem", chain_pem);
}

absl::Status prefixed(const std::string& what, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

}  // namespace

absl::StatusOr<CertificateAuthority> loadOrCreateCa(const std::string& dir,
                                                    const std::string& trust_domain,
                                                    absl::Time now) {
  std::error_code ec;
  // A directory the operator creates holds a private key: only the operator's user reads it.
  if (std::filesystem::create_directories(dir, ec) && !ec) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  if (!std::filesystem::exists(dir + "/ca.pem", ec)) {
    RETURN_IF_ERROR(
        prefixed(absl::StrCat("creating a CA in ", dir), createCa(dir, trust_domain, now)));
  }
  ASSIGN_OR_RETURN(const std::string chain_pem, common::readFile(dir + "/ca.pem"));
  ASSIGN_OR_RETURN(const std::string key_pem, common::readFile(dir + "/ca-key.pem"));
  auto ca = CertificateAuthority::fromPem(trust_domain, chain_pem, key_pem, now);
  if (!ca.ok()) {
    return prefixed(absl::StrCat("the CA in ", dir), ca.status());
  }
  ASSIGN_OR_RETURN(const std::string root_pem, common::identity::chainToPem(ca->trustBundle()));
  RETURN_IF_ERROR(common::writeFileAtomically(dir + "/root.pem", root_pem));
  return ca;
}

absl::StatusOr<ServingIdentity> issueOperatorIdentity(const CertificateAuthority& ca,
                                                      absl::Time now) {
  ASSIGN_OR_RETURN(const common::identity::SpiffeId id,
                   common::identity::SpiffeId::fromParts(ca.trustDomain(), kOperatorNamespace,
                                                         kOperatorServiceAccount));
  ASSIGN_OR_RETURN(common::identity::EvpPkeyPtr key, common::identity::generateP256Key());
  ASSIGN_OR_RETURN(
      common::identity::IssuedCertificate issued,
      ca.signServing(id, key.get(), {kOperatorDnsName}, kServingCertificateLifetime, now));
  ServingIdentity identity;
  ASSIGN_OR_RETURN(identity.key_pem, common::identity::privateKeyToPem(key.get()));
  ASSIGN_OR_RETURN(identity.chain_pem, issued.chainPem());
  ASSIGN_OR_RETURN(identity.root_pem, common::identity::chainToPem(ca.trustBundle()));
  return identity;
}

}  // namespace weft::op
