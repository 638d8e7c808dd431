#include "agent/identity/workload_identities.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/identity/csr.h"
#include "common/identity/keys.h"
#include "common/identity/svid.h"
#include "common/identity/trust_bundle.h"
#include "common/identity/x509_util.h"
#include "common/util/status_macros.h"
#include "spdlog/spdlog.h"

namespace weft::agent::identity {

using common::identity::SpiffeId;
using common::identity::Svid;

absl::flat_hash_set<SpiffeId> localIdentities(const config::ConfigSnapshot& snapshot) {
  absl::flat_hash_set<SpiffeId> out;
  for (const config::WorkloadInfo& workload : snapshot.workloads()) {
    if (workload.identity.has_value()) {  // mesh-enabled
      out.insert(*workload.identity);
    }
  }
  return out;
}

WorkloadIdentities::WorkloadIdentities(WorkloadIdentitiesOptions options, CsrSigner& signer,
                                       tunnel::CertificateStore& store, telemetry::Metrics& metrics)
    : options_(std::move(options)),
      signer_(signer),
      store_(store),
      metrics_(metrics),
      random_(options_.random ? options_.random : common::uniformRandom()) {}

void WorkloadIdentities::start() {
  thread_ = std::thread([this] { run(); });
}

void WorkloadIdentities::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  signer_.cancel();
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void WorkloadIdentities::update(const config::ConfigSnapshot& snapshot) {
  setIdentities(localIdentities(snapshot));
}

void WorkloadIdentities::setIdentities(absl::flat_hash_set<SpiffeId> identities) {
  {
    std::lock_guard lock(mu_);
    wanted_ = std::move(identities);
  }
  wake_.notify_all();
}

std::vector<HeldCertificate> WorkloadIdentities::held() const {
  std::vector<HeldCertificate> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, entry] : entries_) {
    HeldCertificate held;
    held.identity = id.toString();
    held.issued = entry.svid != nullptr;
    held.next_attempt = entry.next_attempt;
    held.failures = entry.failures;
    held.last_error = entry.last_error;
    if (entry.svid != nullptr) {
      held.not_before = entry.svid->not_before;
      held.not_after = entry.svid->not_after;
      held.serial = common::identity::serialHex(entry.svid->leaf.get());
    }
    out.push_back(std::move(held));
  }
  std::sort(out.begin(), out.end(), [](const HeldCertificate& a, const HeldCertificate& b) {
    return a.identity < b.identity;
  });
  return out;
}

void WorkloadIdentities::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    reconcile();
    // The entry most overdue first; one signing at a time, so a slow operator delays the
    // others rather than piling calls on it.
    const SpiffeId* due = nullptr;
    absl::Time next = absl::InfiniteFuture();
    for (const auto& [id, entry] : entries_) {
      if (entry.next_attempt < next) {
        next = entry.next_attempt;
        due = &id;
      }
    }
    const absl::Time now = absl::Now();
    if (due != nullptr && next <= now) {
      const SpiffeId id = *due;
      lock.unlock();
      renew(id);
      lock.lock();
      continue;
    }
    if (next == absl::InfiniteFuture()) {
      wake_.wait(lock);
    } else {
      // Rounded up, so a wake-up is never a moment early and spins.
      wake_.wait_for(lock, absl::ToChronoMilliseconds(next - now) + std::chrono::milliseconds(1));
    }
  }
}

void WorkloadIdentities::reconcile() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (wanted_.contains(it->first)) {
      ++it;
      continue;
    }
    // The last pod of this service account left the node: its key goes with it.
    spdlog::info("workload certificate for {} removed: no pod of it on this node any more",
                 it->first.toString());
    store_.remove(it->first);
    metrics_.removeCertificateExpiry(it->first.toString());
    entries_.erase(it++);
  }
  for (const SpiffeId& id : wanted_) {
    if (!entries_.contains(id)) {
      entries_.emplace(
          id, Entry(common::Backoff(options_.initial_backoff, options_.max_backoff, random_)));
    }
  }
}

void WorkloadIdentities::renew(const SpiffeId& id) {
  absl::StatusOr<tunnel::SvidPtr> svid = requestSvid(id);
  const absl::Time now = absl::Now();
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);  // only run() removes entries, and it is waiting for us
  if (it == entries_.end() || stopping_) {
    return;
  }
  Entry& entry = it->second;
  if (svid.ok()) {
    absl::Status stored = store_.put(*svid);
    if (stored.ok()) {
      if (entry.svid != nullptr) {
        metrics_.countCertificateRotation();
      }
      spdlog::log(entry.failures > 0 ? spdlog::level::info : spdlog::level::debug,
                  "workload certificate for {}: serial {}, valid until {}{}", id.toString(),
                  common::identity::serialHex((*svid)->leaf.get()),
                  common::identity::formatTime((*svid)->not_after),
                  entry.failures > 0 ? absl::StrCat(" (after ", entry.failures, " failures)") : "");
      entry.svid = *std::move(svid);
      entry.next_attempt = renewalTime(*entry.svid, now);
      entry.backoff.reset();
      entry.failures = 0;
      entry.last_error.clear();
      metrics_.setCertificateExpiry(id.toString(), entry.svid->not_after);
      return;
    }
    svid = stored;
  }
  metrics_.countCertificateSigningFailure();
  ++entry.failures;
  entry.last_error = std::string(svid.status().message());
  const std::chrono::milliseconds delay = entry.backoff.next();
  entry.next_attempt = now + absl::FromChrono(delay);
  // Loud once per outage, then quiet, as the config stream.
  spdlog::log(entry.failures == 1 ? spdlog::level::warn : spdlog::level::debug,
              "workload certificate for {}: {}; {}, retrying in {} ms (attempt {})", id.toString(),
              entry.last_error,
              entry.svid != nullptr
                  ? absl::StrCat("keeping the one valid until ",
                                 common::identity::formatTime(entry.svid->not_after))
                  : "none held yet",
              delay.count(), entry.failures);
}

absl::StatusOr<tunnel::SvidPtr> WorkloadIdentities::requestSvid(const SpiffeId& id) {
  // A new key for every certificate: a renewal also retires the old key.
  ASSIGN_OR_RETURN(common::identity::EvpPkeyPtr key, common::identity::generateP256Key());
  ASSIGN_OR_RETURN(const std::string csr, common::identity::buildCsrPem(id, key.get()));
  ASSIGN_OR_RETURN(const api::v1alpha1::SignResponse response, signer_.sign(id, csr));
  absl::StatusOr<common::identity::TrustBundle> bundle =
      common::identity::TrustBundle::fromPem(response.trust_bundle_pem());
  if (!bundle.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the operator's trust bundle is unusable: ", bundle.status().message()));
  }
  absl::StatusOr<Svid> svid = Svid::assemble(id, std::move(key), response.certificate_chain_pem(),
                                             *std::move(bundle), absl::Now());
  if (!svid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the operator's certificate is unusable: ", svid.status().message()));
  }
  return std::make_shared<const Svid>(*std::move(svid));
}

// From the time the certificate arrived, not its notBefore: the CA backdates that for clock
// skew, which would make a short-lived certificate due at once.
absl::Time WorkloadIdentities::renewalTime(const Svid& svid, absl::Time received) {
  const double fraction = 0.5 - options_.rotation_jitter * random_();
  return received + (svid.not_after - received) * fraction;
}

}  // namespace weft::agent::identity
