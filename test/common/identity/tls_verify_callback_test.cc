// verifyFromStoreCtx inside a real TLS 1.3 handshake, run in memory (a BIO pair, no
// sockets): shows that what a verify callback receives is enough to verify an SVID chain
// with intermediates, in both directions, as the tunnel will use it.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "common/identity/certificate_authority.h"
#include "common/identity/verify.h"
#include "test/common/identity/test_pki.h"

namespace weft::common::identity {
namespace {

using testing::id;
using testing::kNow;
using testing::requester;
using testing::take;

using SslCtxPtr = OpenSslPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = OpenSslPtr<SSL, SSL_free>;

// What one side's verify callback is given and what it concluded.
struct Verifier {
  TrustBundle bundle;
  PeerPolicy policy;
  std::optional<absl::StatusOr<SpiffeId>> result;
};

int verifyCallback(X509_STORE_CTX* ctx, void* arg) {
  auto* verifier = static_cast<Verifier*>(arg);
  verifier->result = verifyFromStoreCtx(ctx, verifier->bundle, verifier->policy, kNow);
  return verifier->result->ok() ? 1 : 0;
}

// A TLS 1.3-only context presenting `issued` with `key` and verifying peers with `verifier`.
SslCtxPtr context(bool server, const IssuedCertificate& issued, EVP_PKEY* key, Verifier* verifier) {
  SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  REQUIRE(ctx != nullptr);
  REQUIRE(SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) == 1);
  REQUIRE(SSL_CTX_use_certificate(ctx.get(), issued.leaf.get()) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey(ctx.get(), key) == 1);
  for (const X509Ptr& cert : issued.intermediates) {
    REQUIRE(SSL_CTX_add1_chain_cert(ctx.get(), cert.get()) == 1);
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx.get(), verifyCallback, verifier);
  return ctx;
}

struct Outcome {
  bool client_ok = false;
  bool server_ok = false;
};

// Steps both ends until neither makes progress; a bounded number of rounds.
Outcome handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  SslPtr client(SSL_new(client_ctx));
  SslPtr server(SSL_new(server_ctx));
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  REQUIRE(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) == 1);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  Outcome outcome;
  for (int round = 0; round < 10; ++round) {
    outcome.client_ok = SSL_do_handshake(client.get()) == 1;
    outcome.server_ok = SSL_do_handshake(server.get()) == 1;
    // TLS 1.3 servers send session tickets after the handshake; reading lets the client
    // see a late alert (e.g. its certificate refused).
    char byte;
    SSL_read(client.get(), &byte, 1);
  }
  ERR_clear_error();
  return outcome;
}

struct Pki {
  CertificateAuthority root =
      take(CertificateAuthority::selfSigned("example.org", absl::Hours(1000), kNow));
  CertificateAuthority inter =
      take(CertificateAuthority::createIntermediate(root, absl::Hours(500), kNow));
  TrustBundle bundle = take(TrustBundle::fromCertificates(root.trustBundle()));
};

PeerPolicy expecting(const std::string& spiffe_id, PeerRole role) {
  return PeerPolicy{"example.org", role, id(spiffe_id), nullptr};
}

constexpr const char* kWeb = "spiffe://example.org/ns/prod/sa/web";
constexpr const char* kDb = "spiffe://example.org/ns/prod/sa/db";

TEST_CASE("both ends of a TLS 1.3 handshake verify each other's SVID through the callback") {
  Pki pki;
  testing::Requester web = requester(kWeb);
  testing::Requester db = requester(kDb);
  IssuedCertificate web_cert = take(pki.inter.sign(web.csr, absl::Hours(24), kNow));
  IssuedCertificate db_cert = take(pki.inter.sign(db.csr, absl::Hours(24), kNow));
  Verifier client_side{pki.bundle, expecting(kDb, PeerRole::kServer), std::nullopt};
  Verifier server_side{pki.bundle, expecting(kWeb, PeerRole::kClient), std::nullopt};
  SslCtxPtr client_ctx = context(false, web_cert, web.key.get(), &client_side);
  SslCtxPtr server_ctx = context(true, db_cert, db.key.get(), &server_side);

  Outcome outcome = handshake(client_ctx.get(), server_ctx.get());
  CHECK(outcome.client_ok);
  CHECK(outcome.server_ok);
  REQUIRE(client_side.result.has_value());
  REQUIRE(server_side.result.has_value());
  CHECK(take(*client_side.result) == id(kDb));
  CHECK(take(*server_side.result) == id(kWeb));
}

TEST_CASE("a handshake fails when the client's SVID comes from another CA") {
  Pki pki;
  auto stranger = take(CertificateAuthority::selfSigned("example.org", absl::Hours(100), kNow));
  testing::Requester web = requester(kWeb);
  testing::Requester db = requester(kDb);
  IssuedCertificate web_cert = take(stranger.sign(web.csr, absl::Hours(24), kNow));
  IssuedCertificate db_cert = take(pki.inter.sign(db.csr, absl::Hours(24), kNow));
  Verifier client_side{pki.bundle, expecting(kDb, PeerRole::kServer), std::nullopt};
  Verifier server_side{pki.bundle, expecting(kWeb, PeerRole::kClient), std::nullopt};
  SslCtxPtr client_ctx = context(false, web_cert, web.key.get(), &client_side);
  SslCtxPtr server_ctx = context(true, db_cert, db.key.get(), &server_side);

  Outcome outcome = handshake(client_ctx.get(), server_ctx.get());
  CHECK_FALSE(outcome.server_ok);
  REQUIRE(server_side.result.has_value());
  REQUIRE_FALSE(server_side.result->ok());
  CHECK_THAT(std::string(server_side.result->status().message()),
             Catch::Contains("not issued by a CA in the trust bundle"));
}

TEST_CASE("a handshake fails when the server is not the identity the client expects") {
  Pki pki;
  testing::Requester web = requester(kWeb);
  testing::Requester db = requester(kDb);
  IssuedCertificate web_cert = take(pki.inter.sign(web.csr, absl::Hours(24), kNow));
  IssuedCertificate db_cert = take(pki.inter.sign(db.csr, absl::Hours(24), kNow));
  Verifier client_side{pki.bundle, expecting(kWeb, PeerRole::kServer), std::nullopt};
  Verifier server_side{pki.bundle, expecting(kWeb, PeerRole::kClient), std::nullopt};
  SslCtxPtr client_ctx = context(false, web_cert, web.key.get(), &client_side);
  SslCtxPtr server_ctx = context(true, db_cert, db.key.get(), &server_side);

  Outcome outcome = handshake(client_ctx.get(), server_ctx.get());
  CHECK_FALSE(outcome.client_ok);
  CHECK_FALSE(outcome.server_ok);
  REQUIRE(client_side.result.has_value());
  REQUIRE_FALSE(client_side.result->ok());
  CHECK(client_side.result->status().code() == absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace weft::common::identity
