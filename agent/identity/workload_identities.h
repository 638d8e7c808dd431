#pragma once

// Keeps the CertificateStore filled with an SVID for every identity this node serves: the
// service accounts of its mesh-enabled workloads, spiffe://<trust-domain>/ns/<ns>/sa/<sa>.
// A new identity gets a fresh P-256 key and a CSR signed by the operator; an identity whose
// last pod left is removed; a held SVID is renewed (new key, new certificate) at half of the
// lifetime it had when it arrived, a little earlier by jitter, so a node's agents do not all
// ask at once. A new SVID replaces the old one in the store as a whole: a connection keeps
// the one it started with. A failed signing is retried with backoff while the old SVID, if
// any, stays in place until it expires.
//
// One thread of its own (the signing call blocks); update() and held() may be called from
// any thread.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/config/config_snapshot.h"
#include "agent/identity/csr_signer.h"
#include "agent/identity/held_certificate.h"
#include "agent/telemetry/metrics.h"
#include "agent/tunnel/certificate_store.h"
#include "common/identity/spiffe_id.h"
#include "common/util/backoff.h"

namespace weft::agent::identity {

struct WorkloadIdentitiesOptions {
  // Retries of a failed signing: full jitter, doubling from `initial_backoff` up to
  // `max_backoff`, per identity.
  std::chrono::milliseconds initial_backoff{1'000};
  std::chrono::milliseconds max_backoff{60'000};
  // Renewal is due at (1/2 - rotation_jitter * u) of the lifetime left at arrival, u uniform
  // in [0, 1).
  double rotation_jitter = 0.05;
  // Uniform in [0, 1), for both jitters; empty: a random one. Tests inject their own.
  std::function<double()> random = nullptr;
};

// The identities of `snapshot`'s mesh-enabled workloads (their service accounts in the
// config's trust domain).
absl::flat_hash_set<common::identity::SpiffeId> localIdentities(
    const config::ConfigSnapshot& snapshot);

class WorkloadIdentities {
 public:
  WorkloadIdentities(WorkloadIdentitiesOptions options, CsrSigner& signer,
                     tunnel::CertificateStore& store, telemetry::Metrics& metrics);
  ~WorkloadIdentities() { stop(); }

  void start();
  // Ends the thread (cancelling a signing in progress); the store keeps what it holds.
  void stop();

  // The identities this node serves now (localIdentities of the applied config); call on
  // every applied config.
  void update(const config::ConfigSnapshot& snapshot);
  void setIdentities(absl::flat_hash_set<common::identity::SpiffeId> identities);

  // Every identity wanted, sorted by identity.
  std::vector<HeldCertificate> held() const;

 private:
  struct Entry {
    explicit Entry(common::Backoff b) : backoff(std::move(b)) {}
    tunnel::SvidPtr svid;  // the one in the store; null until the first signing
    absl::Time next_attempt = absl::InfinitePast();
    common::Backoff backoff;
    int failures = 0;
    std::string last_error;
  };

  void run();
  // Adds and removes entries to match wanted_; mu_ held.
  void reconcile();
  // One signing for `id`, outside mu_; then records the result under it.
  void renew(const common::identity::SpiffeId& id);
  absl::StatusOr<tunnel::SvidPtr> requestSvid(const common::identity::SpiffeId& id);
  absl::Time renewalTime(const common::identity::Svid& svid, absl::Time received);

  WorkloadIdentitiesOptions options_;
  CsrSigner& signer_;
  tunnel::CertificateStore& store_;
  telemetry::Metrics& metrics_;
  std::function<double()> random_;  // the thread's, and reconcile()'s under mu_
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  absl::flat_hash_set<common::identity::SpiffeId> wanted_;
  absl::flat_hash_map<common::identity::SpiffeId, Entry> entries_;
};

}  // namespace weft::agent::identity
