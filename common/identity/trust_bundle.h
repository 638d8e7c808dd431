#pragma once

// The CA certificates a trust domain's peers are verified against. Built once into an
// X509_STORE that is only read afterwards, so copies share it across threads.
//
// One bundle per trust domain (as SPIFFE defines bundles): verification checks the leaf's
// trust domain but not which root it chained to, so a bundle mixing the roots of two trust
// domains would let either CA issue identities of the other.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/identity/openssl_ptr.h"

namespace weft::common::identity {

class TrustBundle {
 public:
  // Every certificate must be a CA (basicConstraints CA:TRUE); at least one.
  static absl::StatusOr<TrustBundle> fromCertificates(const CertChain& roots);
  static absl::StatusOr<TrustBundle> fromPem(absl::string_view pem);

  const CertChain& roots() const { return *roots_; }
  X509_STORE* store() const { return store_.get(); }
  absl::StatusOr<std::string> toPem() const;

 private:
  TrustBundle(std::shared_ptr<const CertChain> roots, std::shared_ptr<X509_STORE> store)
      : roots_(std::move(roots)), store_(std::move(store)) {}

  std::shared_ptr<const CertChain> roots_;
  std::shared_ptr<X509_STORE> store_;
};

}  // namespace weft::common::identity
