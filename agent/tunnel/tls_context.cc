#include "agent/tunnel/tls_context.h"

#include <openssl/ssl.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/tunnel/sni.h"
#include "common/identity/openssl_error.h"
#include "common/identity/verify.h"
#include "common/util/status_macros.h"

namespace weft::agent::tunnel {
namespace {

using common::identity::openSslError;
using common::identity::OpenSslPtr;
using common::identity::PeerPolicy;
using common::identity::PeerRole;
using common::identity::SpiffeId;

using SslCtxPtr = OpenSslPtr<SSL_CTX, SSL_CTX_free>;

constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};
// AES-128-GCM first: as safe for this use and the fastest suite with AES-NI.
constexpr char kCipherSuites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

int stateIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

TlsPeerState* stateOf(SSL* ssl) {
  return static_cast<TlsPeerState*>(SSL_get_ex_data(ssl, stateIndex()));
}

// Replaces OpenSSL's chain verification: the peer must be an SVID of our trust domain (and,
// for a client, exactly the destination it asked for).
int verifyPeerCallback(X509_STORE_CTX* store_ctx, void*) {
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  TlsPeerState* state = ssl == nullptr ? nullptr : stateOf(ssl);
  if (state == nullptr || state->local == nullptr) {
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  PeerPolicy policy;
  policy.trust_domain = state->local->id.trust_domain;
  policy.role = SSL_is_server(ssl) ? PeerRole::kClient : PeerRole::kServer;
  policy.expected_id = state->expected_peer;
  auto peer = common::identity::verifyFromStoreCtx(store_ctx, state->local->bundle, policy,
                                                   (*state->clock)());
  if (!peer.ok()) {
    state->failure = peer.status();
    return 0;
  }
  state->peer = *std::move(peer);
  return 1;
}

// Server: present the SVID of the workload the client named.
int selectCertificate(SSL* ssl, int* alert, void*) {
  TlsPeerState* state = stateOf(ssl);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  *alert = SSL_AD_UNRECOGNIZED_NAME;
  if (state == nullptr) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (name == nullptr) {
    state->failure = absl::InvalidArgumentError("tunnel client sent no server name");
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  SvidPtr svid = state->store->findByServerName(name);
  if (svid == nullptr) {
    state->failure =
        absl::NotFoundError(absl::StrCat("no workload certificate for server name \"", name, "\""));
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  common::identity::X509StackPtr chain = common::identity::toStack(svid->intermediates);
  if (chain == nullptr ||
      SSL_use_cert_and_key(ssl, svid->leaf.get(), svid->key.get(), chain.get(), 1) != 1) {
    state->failure = openSslError("installing the workload certificate");
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  state->local = std::move(svid);
  return SSL_TLSEXT_ERR_OK;
}

// Server: h2 or nothing (no_application_protocol alert).
int selectAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void*) {
  for (unsigned int i = 0; i < in_len; i += 1u + in[i]) {
    if (in[i] == 2 && i + 3 <= in_len && std::memcmp(in + i + 1, "h2", 2) == 0) {
      *out = in + i + 1;
      *out_len = 2;
      return SSL_TLSEXT_ERR_OK;
    }
  }
  if (TlsPeerState* state = stateOf(ssl); state != nullptr) {
    state->failure = absl::FailedPreconditionError("tunnel client does not offer ALPN \"h2\"");
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// What both roles share: TLS 1.3 only, the suites, no resumption, mutual verification.
absl::StatusOr<SslCtxPtr> newContext(const SSL_METHOD* method) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (ctx == nullptr) {
    return openSslError("creating a TLS context");
  }
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(ctx.get(), kCipherSuites) != 1) {
    return openSslError("configuring TLS 1.3");
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx.get(), verifyPeerCallback, nullptr);
  return ctx;
}

absl::Status attach(SSL* ssl, TlsPeerState* state) {
  if (SSL_set_ex_data(ssl, stateIndex(), state) != 1) {
    return openSslError("attaching the TLS peer state");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<ClientTlsContext>> ClientTlsContext::create(SvidPtr source,
                                                                           Clock clock) {
  ASSIGN_OR_RETURN(SslCtxPtr ctx, newContext(TLS_client_method()));
  common::identity::X509StackPtr chain = common::identity::toStack(source->intermediates);
  if (chain == nullptr || SSL_CTX_use_cert_and_key(ctx.get(), source->leaf.get(), source->key.get(),
                                                   chain.get(), 1) != 1) {
    return openSslError(absl::StrCat("installing the SVID of ", source->id.toString()));
  }
  // SSL_CTX_set_alpn_protos returns 0 on success, unlike the rest of OpenSSL.
  if (SSL_CTX_set_alpn_protos(ctx.get(), kAlpnH2, sizeof(kAlpnH2)) != 0) {
    return openSslError("setting ALPN");
  }
  asio::ssl::context context(ctx.release());  // takes ownership
  return std::shared_ptr<ClientTlsContext>(
      new ClientTlsContext(std::move(context), std::move(source), std::move(clock)));
}

absl::Status ClientTlsContext::prepare(SSL* ssl, const SpiffeId& destination,
                                       TlsPeerState* state) const {
  ASSIGN_OR_RETURN(const std::string name, encodeServerName(destination));
  if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    return openSslError("setting the server name");
  }
  state->local = source_;
  state->expected_peer = destination;
  state->clock = &clock_;
  return attach(ssl, state);
}

absl::StatusOr<std::shared_ptr<ServerTlsContext>> ServerTlsContext::create(
    std::shared_ptr<const CertificateStore> store, Clock clock) {
  ASSIGN_OR_RETURN(SslCtxPtr ctx, newContext(TLS_server_method()));
  SSL_CTX_set_tlsext_servername_callback(ctx.get(), selectCertificate);
  SSL_CTX_set_alpn_select_cb(ctx.get(), selectAlpn, nullptr);
  asio::ssl::context context(ctx.release());
  return std::shared_ptr<ServerTlsContext>(
      new ServerTlsContext(std::move(context), std::move(store), std::move(clock)));
}

absl::Status ServerTlsContext::prepare(SSL* ssl, TlsPeerState* state) const {
  state->store = store_.get();
  state->clock = &clock_;
  return attach(ssl, state);
}

absl::StatusOr<SpiffeId> checkHandshake(SSL* ssl, const TlsPeerState& state) {
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn_len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
    return absl::FailedPreconditionError("tunnel peer did not agree on ALPN \"h2\"");
  }
  if (!state.peer.has_value()) {
    return absl::UnauthenticatedError("tunnel peer presented no verified certificate");
  }
  return *state.peer;
}

void detachPeerState(SSL* ssl) {
  SSL_set_ex_data(ssl, stateIndex(), nullptr);
}

absl::Status handshakeError(const TlsPeerState& state, const std::error_code& ec) {
  if (!state.failure.ok()) {
    return state.failure;
  }
  return absl::UnavailableError(absl::StrCat("TLS handshake failed: ", ec.message()));
}

}  // namespace weft::agent::tunnel
