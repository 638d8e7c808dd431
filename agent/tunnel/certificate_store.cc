#include "agent/tunnel/certificate_store.h"

#include <utility>

#include "agent/tunnel/sni.h"

namespace weft::agent::tunnel {

using common::identity::SpiffeId;

absl::Status CertificateStore::put(SvidPtr svid) {
  auto name = encodeServerName(svid->id);
  if (!name.ok()) {
    return name.status();
  }
  absl::MutexLock lock(&mu_);
  by_server_name_[*name] = svid;
  by_id_[svid->id] = std::move(svid);
  return absl::OkStatus();
}

void CertificateStore::remove(const SpiffeId& id) {
  auto name = encodeServerName(id);
  absl::MutexLock lock(&mu_);
  by_id_.erase(id);
  if (name.ok()) {
    by_server_name_.erase(*name);
  }
}

SvidPtr CertificateStore::find(const SpiffeId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

SvidPtr CertificateStore::findByServerName(absl::string_view server_name) const {
  absl::MutexLock lock(&mu_);
  auto it = by_server_name_.find(server_name);
  return it == by_server_name_.end() ? nullptr : it->second;
}

}  // namespace weft::agent::tunnel
