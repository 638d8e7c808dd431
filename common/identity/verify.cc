#include "common/identity/verify.h"

#include "absl/strings/str_cat.h"
#include "common/identity/openssl_error.h"
#include "common/identity/pem.h"
#include "common/identity/x509_util.h"
#include "common/util/status_macros.h"

namespace weft::common::identity {
namespace {

// Chains longer than this are refused: ours are leaf, at most one intermediate, root.
constexpr int kMaxChainDepth = 8;

bool isUnknownIssuer(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return true;
    default:
      return false;
  }
}

// A message naming the certificate that failed and why, in the words a user would look for.
std::string describeFailure(X509_STORE_CTX* ctx, absl::Time now) {
  const int error = X509_STORE_CTX_get_error(ctx);
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  const std::string which =
      cert == nullptr ? "the certificate"
                      : absl::StrCat(X509_STORE_CTX_get_error_depth(ctx) == 0 ? "certificate "
                                                                              : "CA certificate ",
                                     describeCert(cert));
  if (error == X509_V_ERR_CERT_HAS_EXPIRED && cert != nullptr) {
    return absl::StrCat(which, " expired at ", formatTime(notAfter(cert)), " (now ",
                        formatTime(now), ")");
  }
  if (error == X509_V_ERR_CERT_NOT_YET_VALID && cert != nullptr) {
    return absl::StrCat(which, " is not valid before ", formatTime(notBefore(cert)), " (now ",
                        formatTime(now), ")");
  }
  if (isUnknownIssuer(error)) {
    return absl::StrCat(which, " is not issued by a CA in the trust bundle (",
                        X509_verify_cert_error_string(error), ")");
  }
  if (error == X509_V_ERR_INVALID_PURPOSE) {
    return absl::StrCat(which, " may not be used for this TLS role (keyUsage/extKeyUsage)");
  }
  return absl::StrCat(which, " does not verify: ", X509_verify_cert_error_string(error));
}

absl::Status checkIdentity(const SpiffeId& id, const PeerPolicy& policy) {
  if (id.trust_domain != policy.trust_domain) {
    return absl::PermissionDeniedError(absl::StrCat("peer ", id.toString(),
                                                    " is in trust domain \"", id.trust_domain,
                                                    "\", expected \"", policy.trust_domain, "\""));
  }
  if (policy.expected_id.has_value() && id != *policy.expected_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("peer is ", id.toString(), ", expected ", policy.expected_id->toString()));
  }
  if (policy.allow && !policy.allow(id)) {
    return absl::PermissionDeniedError(absl::StrCat("peer ", id.toString(), " is not allowed"));
  }
  return absl::OkStatus();
}

absl::Status unauthenticated(const absl::Status& status) {
  return absl::UnauthenticatedError(status.message());
}

}  // namespace

absl::Status verifyChain(X509_STORE* store, X509* leaf, STACK_OF(X509) * untrusted, int purpose,
                         absl::Time now) {
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (ctx == nullptr || X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted) != 1) {
    return openSslError("setting up certificate verification");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  X509_STORE_CTX_set_depth(ctx.get(), kMaxChainDepth);
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_X509_STRICT | X509_V_FLAG_CHECK_SS_SIGNATURE);
  if (purpose != 0 && X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1) {
    return openSslError("setting the verification purpose");
  }
  const int verified = X509_verify_cert(ctx.get());
  clearOpenSslErrors();  // the reason is in the context, not the queue
  if (verified != 1) {
    return absl::UnauthenticatedError(describeFailure(ctx.get(), now));
  }
  return absl::OkStatus();
}

absl::StatusOr<SpiffeId> verifyPeer(X509* leaf, STACK_OF(X509) * untrusted,
                                    const TrustBundle& bundle, const PeerPolicy& policy,
                                    absl::Time now) {
  if (leaf == nullptr) {
    return absl::UnauthenticatedError("the peer presented no certificate");
  }
  // Before the chain: a CA certificate is never a workload's, even one the bundle trusts.
  if (isCa(leaf)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "certificate ", describeCert(leaf), " is a CA certificate, not a workload certificate"));
  }
  const int purpose =
      policy.role == PeerRole::kClient ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER;
  RETURN_IF_ERROR(verifyChain(bundle.store(), leaf, untrusted, purpose, now));
  auto sans = certificateSans(leaf);
  if (!sans.ok()) {
    return unauthenticated(sans.status());
  }
  auto id = spiffeIdFromSans(*sans, absl::StrCat("certificate ", describeCert(leaf)));
  if (!id.ok()) {
    return unauthenticated(id.status());
  }
  RETURN_IF_ERROR(checkIdentity(*id, policy));
  return id;
}

absl::StatusOr<SpiffeId> verifyPeerChain(const CertChain& chain, const TrustBundle& bundle,
                                         const PeerPolicy& policy, absl::Time now) {
  if (chain.empty()) {
    return absl::UnauthenticatedError("the peer presented no certificate");
  }
  CertChain intermediates;
  for (size_t i = 1; i < chain.size(); ++i) {
    intermediates.push_back(shareCert(chain[i].get()));
  }
  X509StackPtr untrusted = toStack(intermediates);
  if (untrusted == nullptr) {
    return openSslError("copying the peer's chain");
  }
  return verifyPeer(chain.front().get(), untrusted.get(), bundle, policy, now);
}

absl::StatusOr<SpiffeId> verifyPeerPem(absl::string_view chain_pem, const TrustBundle& bundle,
                                       const PeerPolicy& policy, absl::Time now) {
  auto chain = chainFromPem(chain_pem);
  if (!chain.ok()) {
    return unauthenticated(chain.status());
  }
  return verifyPeerChain(*chain, bundle, policy, now);
}

absl::StatusOr<SpiffeId> verifyFromStoreCtx(X509_STORE_CTX* ctx, const TrustBundle& bundle,
                                            const PeerPolicy& policy, absl::Time now) {
  auto id = verifyPeer(X509_STORE_CTX_get0_cert(ctx), X509_STORE_CTX_get0_untrusted(ctx), bundle,
                       policy, now);
  if (!id.ok()) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
  }
  return id;
}

}  // namespace weft::common::identity
