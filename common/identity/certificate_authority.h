#pragma once

// The operator's certificate authority: a signing key and certificate, the chain up to the
// root, and the trust bundle (the root) agents verify peers with. Time is always passed in,
// so expiry is testable and one clock decides.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/identity/cert_builder.h"
#include "common/identity/csr.h"
#include "common/identity/openssl_ptr.h"

namespace weft::common::identity {

// Certificates are backdated by this much, so a peer whose clock is a little behind the CA's
// accepts a certificate issued a moment ago.
inline constexpr absl::Duration kClockSkewAllowance = absl::Minutes(1);
inline constexpr absl::Duration kDefaultSvidLifetime = absl::Hours(24);

// A leaf SVID as issued: what the agent installs and presents.
struct IssuedCertificate {
  X509Ptr leaf;
  CertChain intermediates;  // presented after the leaf; never the root

  // The leaf then the intermediates, as PEM: what the CSR answer carries.
  absl::StatusOr<std::string> chainPem() const;
};

class CertificateAuthority {
 public:
  // A new root CA for `trust_domain` with a fresh P-256 key: CA:TRUE, keyCertSign,
  // URI SAN spiffe://<trust_domain>, valid from now (minus the skew allowance) for
  // `validity`.
  static absl::StatusOr<CertificateAuthority> selfSigned(absl::string_view trust_domain,
                                                         absl::Duration validity, absl::Time now);

  // Loads a CA: `chain_pem` holds the signing certificate first, then any intermediates, then
  // the self-signed root; `key_pem` the signing certificate's key. Refused: a key that does not
  // match, a certificate that is not a CA, one expired or not yet valid at `now`, a chain that
  // does not link up to its root, a SPIFFE URI SAN for another trust domain.
  static absl::StatusOr<CertificateAuthority> fromPem(absl::string_view trust_domain,
                                                      absl::string_view chain_pem,
                                                      absl::string_view key_pem, absl::Time now);

  // A new intermediate CA signed by `parent` (fresh P-256 key, pathlen 0), valid for
  // `validity` but never past `parent`'s chain.
  static absl::StatusOr<CertificateAuthority> createIntermediate(const CertificateAuthority& parent,
                                                                 absl::Duration validity,
                                                                 absl::Time now);

  // Signs a leaf SVID for the CSR's identity and key. notBefore = now - skew allowance (not
  // before the CA's own), notAfter = min(now + lifetime, the CA chain's first expiry).
  // Refuses an identity outside this CA's trust domain, and signing while the CA is expired or
  // not yet valid. Whether the requester may have this identity is the caller's decision
  // (node authorization), made before calling.
  absl::StatusOr<IssuedCertificate> sign(const CertificateRequest& csr, absl::Duration lifetime,
                                         absl::Time now) const;

  // A serving certificate for a control-plane endpoint (the operator's gRPC server): the
  // SPIFFE ID `id` plus `dns_names` (clients that dial by name check one of them), for
  // `public_key`, with the same validity rules as sign().
  absl::StatusOr<IssuedCertificate> signServing(const SpiffeId& id, EVP_PKEY* public_key,
                                                std::vector<std::string> dns_names,
                                                absl::Duration lifetime, absl::Time now) const;

  const std::string& trustDomain() const { return trust_domain_; }
  X509* certificate() const { return chain_.front().get(); }
  // The signing certificate first, up to and including the root.
  const CertChain& chain() const { return chain_; }
  // The roots peers are verified against (one root today; a list so rotation can add one).
  CertChain trustBundle() const;
  // The earliest notAfter in the chain: no certificate this CA signs outlives it.
  absl::Time notAfter() const;

  // For persisting a self-generated CA and loading it again with fromPem().
  absl::StatusOr<std::string> chainPem() const;
  absl::StatusOr<std::string> keyPem() const;

 private:
  CertificateAuthority(std::string trust_domain, EvpPkeyPtr key, CertChain chain)
      : trust_domain_(std::move(trust_domain)), key_(std::move(key)), chain_(std::move(chain)) {}

  absl::Status checkUsableAt(absl::Time now) const;
  absl::StatusOr<IssuedCertificate> issue(CertSpec spec, const SpiffeId& id,
                                          absl::Duration lifetime, absl::Time now) const;
  absl::Time earliestNotBefore(absl::Time now) const;

  std::string trust_domain_;
  EvpPkeyPtr key_;
  CertChain chain_;
};

}  // namespace weft::common::identity
