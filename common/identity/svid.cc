#include "common/identity/svid.h"

#include "absl/strings/str_cat.h"
#include "common/identity/keys.h"
#include "common/identity/pem.h"
#include "common/identity/verify.h"
#include "common/identity/x509_util.h"
#include "common/util/status_macros.h"

namespace weft::common::identity {

absl::StatusOr<Svid> Svid::assemble(const SpiffeId& expected, EvpPkeyPtr key,
                                    absl::string_view chain_pem, TrustBundle bundle,
                                    absl::Time now) {
  ASSIGN_OR_RETURN(CertChain chain, chainFromPem(chain_pem));
  if (!samePublicKey(X509_get0_pubkey(chain.front().get()), key.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate for ", expected.toString(), " is not for this key"));
  }
  PeerPolicy policy{expected.trust_domain, PeerRole::kClient, expected, nullptr};
  RETURN_IF_ERROR(verifyPeerChain(chain, bundle, policy, now).status());
  policy.role = PeerRole::kServer;
  RETURN_IF_ERROR(verifyPeerChain(chain, bundle, policy, now).status());
  X509Ptr leaf = std::move(chain.front());
  chain.erase(chain.begin());
  const absl::Time from = notBefore(leaf.get());
  const absl::Time until = notAfter(leaf.get());
  return Svid{expected, std::move(key), std::move(leaf), std::move(chain), std::move(bundle),
              from,     until};
}

}  // namespace weft::common::identity
