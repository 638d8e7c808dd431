#include "common/identity/certificate_authority.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/identity/cert_builder.h"
#include "common/identity/keys.h"
#include "common/identity/openssl_error.h"
#include "common/identity/pem.h"
#include "common/identity/verify.h"
#include "common/identity/x509_util.h"
#include "common/util/status_macros.h"

namespace weft::common::identity {
namespace {

absl::Status checkPositive(absl::Duration d, absl::string_view what) {
  if (d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be positive, got ", absl::FormatDuration(d)));
  }
  return absl::OkStatus();
}

absl::Status invalidCa(absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("CA: ", reason));
}

absl::Status checkIsCa(X509* cert) {
  if (!isCa(cert)) {
    return invalidCa(absl::StrCat("certificate ", describeCert(cert),
                                  " is not a CA (no basicConstraints CA:TRUE)"));
  }
  // No keyUsage extension means every usage is allowed.
  if ((X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0) {
    return invalidCa(absl::StrCat("certificate ", describeCert(cert),
                                  " may not sign certificates (keyUsage lacks keyCertSign)"));
  }
  return absl::OkStatus();
}

// A CA certificate may name its trust domain as a URI SAN; when it does, it must be ours.
absl::Status checkTrustDomainSan(X509* cert, absl::string_view trust_domain) {
  auto sans = certificateSans(cert);
  if (!sans.ok()) {
    return invalidCa(sans.status().message());
  }
  for (const std::string& uri : sans->uris) {
    if (hasSpiffeScheme(uri) && uri != trustDomainUri(trust_domain)) {
      return invalidCa(absl::StrCat("certificate ", describeCert(cert), " names \"", uri,
                                    "\", not trust domain \"", trust_domain, "\""));
    }
  }
  return absl::OkStatus();
}

// The chain links up to its last certificate, a self-signed root, and all of it is valid now.
absl::Status checkChain(const CertChain& chain, absl::Time now) {
  X509* root = chain.back().get();
  if (!isSelfSigned(root)) {
    return invalidCa(absl::StrCat("the chain must end with its self-signed root; ",
                                  describeCert(root), " is not self-signed"));
  }
  X509StorePtr store(X509_STORE_new());
  CertChain middle;
  for (size_t i = 1; i + 1 < chain.size(); ++i) {
    middle.push_back(shareCert(chain[i].get()));
  }
  X509StackPtr untrusted = toStack(middle);
  if (store == nullptr || untrusted == nullptr || X509_STORE_add_cert(store.get(), root) != 1) {
    return openSslError("setting up CA chain verification");
  }
  const absl::Status status =
      verifyChain(store.get(), chain.front().get(), untrusted.get(), /*purpose=*/0, now);
  return status.ok() ? status : invalidCa(status.message());
}

}  // namespace

absl::StatusOr<std::string> IssuedCertificate::chainPem() const {
  ASSIGN_OR_RETURN(std::string pem, certificateToPem(leaf.get()));
  ASSIGN_OR_RETURN(std::string rest, chainToPem(intermediates));
  return pem + rest;
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::selfSigned(
    absl::string_view trust_domain, absl::Duration validity, absl::Time now) {
  RETURN_IF_ERROR(validateTrustDomain(trust_domain));
  RETURN_IF_ERROR(checkPositive(validity, "the CA validity"));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, generateP256Key());
  CertSpec spec;
  spec.public_key = key.get();
  spec.common_name = "weft root CA";
  spec.organization = std::string(trust_domain);
  spec.ca = true;
  spec.uri_san = trustDomainUri(trust_domain);
  spec.not_before = now - kClockSkewAllowance;
  spec.not_after = now + validity;
  ASSIGN_OR_RETURN(X509Ptr root, buildCertificate(spec, nullptr, key.get()));
  CertChain chain;
  chain.push_back(std::move(root));
  return CertificateAuthority(std::string(trust_domain), std::move(key), std::move(chain));
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::fromPem(absl::string_view trust_domain,
                                                                   absl::string_view chain_pem,
                                                                   absl::string_view key_pem,
                                                                   absl::Time now) {
  RETURN_IF_ERROR(validateTrustDomain(trust_domain));
  ASSIGN_OR_RETURN(CertChain chain, chainFromPem(chain_pem));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, privateKeyFromPem(key_pem));
  if (!samePublicKey(X509_get0_pubkey(chain.front().get()), key.get())) {
    return invalidCa(
        absl::StrCat("the key does not match certificate ", describeCert(chain.front().get())));
  }
  RETURN_IF_ERROR(signingDigest(key.get()).status());
  for (const X509Ptr& cert : chain) {
    RETURN_IF_ERROR(checkIsCa(cert.get()));
  }
  RETURN_IF_ERROR(checkTrustDomainSan(chain.front().get(), trust_domain));
  RETURN_IF_ERROR(checkChain(chain, now));
  return CertificateAuthority(std::string(trust_domain), std::move(key), std::move(chain));
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::createIntermediate(
    const CertificateAuthority& parent, absl::Duration validity, absl::Time now) {
  RETURN_IF_ERROR(checkPositive(validity, "the intermediate's validity"));
  RETURN_IF_ERROR(parent.checkUsableAt(now));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, generateP256Key());
  CertSpec spec;
  spec.public_key = key.get();
  spec.common_name = "weft intermediate CA";
  spec.organization = parent.trust_domain_;
  spec.ca = true;
  spec.path_length = 0;
  spec.uri_san = trustDomainUri(parent.trust_domain_);
  spec.not_before = parent.earliestNotBefore(now);
  spec.not_after = std::min(now + validity, parent.notAfter());
  ASSIGN_OR_RETURN(X509Ptr cert, buildCertificate(spec, parent.certificate(), parent.key_.get()));
  CertChain chain;
  chain.push_back(std::move(cert));
  for (const X509Ptr& above : parent.chain_) {
    chain.push_back(shareCert(above.get()));
  }
  return CertificateAuthority(parent.trust_domain_, std::move(key), std::move(chain));
}

absl::StatusOr<IssuedCertificate> CertificateAuthority::sign(const CertificateRequest& csr,
                                                             absl::Duration lifetime,
                                                             absl::Time now) const {
  CertSpec spec;
  spec.public_key = csr.public_key.get();
  return issue(std::move(spec), csr.id, lifetime, now);
}

absl::StatusOr<IssuedCertificate> CertificateAuthority::signServing(
    const SpiffeId& id, EVP_PKEY* public_key, std::vector<std::string> dns_names,
    absl::Duration lifetime, absl::Time now) const {
  CertSpec spec;
  spec.public_key = public_key;
  spec.dns_sans = std::move(dns_names);
  return issue(std::move(spec), id, lifetime, now);
}

absl::StatusOr<IssuedCertificate> CertificateAuthority::issue(CertSpec spec, const SpiffeId& id,
                                                              absl::Duration lifetime,
                                                              absl::Time now) const {
  if (id.trust_domain != trust_domain_) {
    return absl::PermissionDeniedError(absl::StrCat("this CA signs for trust domain \"",
                                                    trust_domain_, "\", not for ", id.toString()));
  }
  if (!isP256Key(spec.public_key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("an SVID key must be EC P-256, got ", describeKey(spec.public_key)));
  }
  RETURN_IF_ERROR(checkPositive(lifetime, "the certificate lifetime"));
  RETURN_IF_ERROR(checkUsableAt(now));
  spec.uri_san = id.toString();
  spec.not_before = earliestNotBefore(now);
  spec.not_after = std::min(now + lifetime, notAfter());
  ASSIGN_OR_RETURN(X509Ptr leaf, buildCertificate(spec, certificate(), key_.get()));
  IssuedCertificate issued{std::move(leaf), {}};
  for (size_t i = 0; i + 1 < chain_.size(); ++i) {
    issued.intermediates.push_back(shareCert(chain_[i].get()));
  }
  return issued;
}

CertChain CertificateAuthority::trustBundle() const {
  CertChain roots;
  roots.push_back(shareCert(chain_.back().get()));
  return roots;
}

absl::Time CertificateAuthority::notAfter() const {
  absl::Time earliest = absl::InfiniteFuture();
  for (const X509Ptr& cert : chain_) {
    earliest = std::min(earliest, identity::notAfter(cert.get()));
  }
  return earliest;
}

absl::StatusOr<std::string> CertificateAuthority::chainPem() const {
  return chainToPem(chain_);
}

absl::StatusOr<std::string> CertificateAuthority::keyPem() const {
  return privateKeyToPem(key_.get());
}

// Signing with an expired CA would hand out certificates nobody accepts.
absl::Status CertificateAuthority::checkUsableAt(absl::Time now) const {
  for (const X509Ptr& cert : chain_) {
    if (now < identity::notBefore(cert.get())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "CA certificate ", describeCert(cert.get()), " is not valid before ",
          formatTime(identity::notBefore(cert.get())), " (now ", formatTime(now), ")"));
    }
    // At notAfter itself OpenSSL already calls a certificate expired; agree with it.
    if (now >= identity::notAfter(cert.get())) {
      return absl::FailedPreconditionError(
          absl::StrCat("CA certificate ", describeCert(cert.get()), " expired at ",
                       formatTime(identity::notAfter(cert.get())), " (now ", formatTime(now), ")"));
    }
  }
  return absl::OkStatus();
}

// Backdated for clock skew, but not to before the signer itself was valid.
absl::Time CertificateAuthority::earliestNotBefore(absl::Time now) const {
  return std::max(now - kClockSkewAllowance, identity::notBefore(certificate()));
}

}  // namespace weft::common::identity
