#include "agent/tunnel/tunnel_client.h"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/net/asio.h"
#include "common/util/status_macros.h"

namespace weft::agent::tunnel {
namespace {

using asio::ip::tcp;
using common::SocketAddress;
using common::identity::SpiffeId;

struct PoolKey {
  SpiffeId source;
  SocketAddress node;
  SpiffeId destination;

  friend bool operator==(const PoolKey&, const PoolKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const PoolKey& k) {
    return H::combine(std::move(h), k.source, k.node, k.destination);
  }
};

struct Waiter {
  std::string target;
  TunnelClient::OpenHandler handler;
};

// A dial in progress: TCP connect then TLS handshake, under one deadline.
struct Dial {
  Dial(asio::any_io_executor executor, std::shared_ptr<ClientTlsContext> tls_context)
      : context(std::move(tls_context)),
        tls(std::make_unique<SslStream>(tcp::socket(executor), context->context())),
        timer(executor) {}

  // Ends the dial early: its pending operation completes with an error.
  void abort() {
    std::error_code ignored;
    tls->lowest_layer().close(ignored);
    timer.cancel();
  }

  std::shared_ptr<ClientTlsContext> context;
  std::unique_ptr<SslStream> tls;
  asio::steady_timer timer;
  TlsPeerState state;
  bool timed_out = false;
};

// One pooled connection: dialling (dial set), waiting for the peer's SETTINGS, or ready.
struct PooledConnection {
  PoolKey key;
  SvidPtr svid;  // the source SVID it presents
  std::shared_ptr<Dial> dial;
  std::shared_ptr<H2Connection> h2;
  bool ready = false;
  bool failed = false;  // left the pool; a dial still running must not bring it up
  std::vector<Waiter> waiters;
};

using PooledConnectionPtr = std::shared_ptr<PooledConnection>;

}  // namespace

class TunnelClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor executor, std::shared_ptr<const CertificateStore> identities,
       TunnelClientOptions options)
      : executor_(std::move(executor)),
        identities_(std::move(identities)),
        options_(std::move(options)) {}

  void open(const PoolKey& key, std::string target, OpenHandler handler) {
    handler = counted(std::move(handler));
    SvidPtr svid = identities_->find(key.source);
    if (svid == nullptr) {
      post(std::move(handler),
           absl::NotFoundError(absl::StrCat("no SVID for ", key.source.toString())));
      return;
    }
    route(key, svid, Waiter{std::move(target), std::move(handler)});
  }

  size_t connectionCount() const {
    size_t n = 0;
    for (const auto& [key, list] : pool_) {
      n += list.size();
    }
    return n;
  }

  void closeAll() {
    const absl::Status closed = absl::UnavailableError("tunnel client closed");
    auto pool = std::move(pool_);
    pool_.clear();
    for (auto& [key, list] : pool) {
      for (auto& c : list) {
        fail(*c, closed);
      }
    }
    for (auto& weak : std::exchange(draining_, {})) {
      if (auto h2 = weak.lock()) {
        h2->close(closed);
      }
    }
  }

  TunnelClientStats stats_;

 private:
  // Counts how the open ended.
  OpenHandler counted(OpenHandler handler) {
    return [self = shared_from_this(),
            handler = std::move(handler)](absl::StatusOr<TunnelStreamPtr> stream) mutable {
      if (stream.ok()) {
        ++self->stats_.streams_opened;
      } else if (refusalStatus(stream.status()).has_value()) {
        ++self->stats_.streams_refused;
      } else {
        ++self->stats_.streams_failed;
      }
      handler(std::move(stream));
    };
  }

  // An open whose SVID is known: onto a connection with room, behind one being set up, or
  // onto a new one.
  void route(const PoolKey& key, const SvidPtr& svid, Waiter waiter) {
    std::vector<PooledConnectionPtr>& list = pool_[key];
    retireRotated(list, svid);
    for (const auto& c : list) {
      if (c->ready && c->h2->hasCapacity()) {
        c->h2->openStream(std::move(waiter.target), std::move(waiter.handler));
        return;
      }
    }
    for (const auto& c : list) {
      if (!c->ready) {
        c->waiters.push_back(std::move(waiter));
        return;
      }
    }
    auto c = std::make_shared<PooledConnection>();
    c->key = key;
    c->svid = svid;
    c->waiters.push_back(std::move(waiter));
    list.push_back(c);
    dial(c);
  }

  // Connections up with an SVID that has since been replaced take no new streams; their
  // streams finish on them.
  void retireRotated(std::vector<PooledConnectionPtr>& list, const SvidPtr& current) {
    std::vector<PooledConnectionPtr> retired;
    std::erase_if(list, [&](const PooledConnectionPtr& c) {
      if (!c->ready || c->svid == current) {
        return false;
      }
      retired.push_back(c);
      return true;
    });
    std::erase_if(draining_, [](const auto& weak) { return weak.expired(); });
    for (const PooledConnectionPtr& c : retired) {
      c->failed = true;
      draining_.push_back(c->h2);
      c->h2->drain();
    }
  }

  absl::StatusOr<std::shared_ptr<ClientTlsContext>> contextFor(const SvidPtr& svid) {
    auto it = contexts_.find(svid->id);
    if (it != contexts_.end() && it->second->svid() == svid) {
      return it->second;
    }
    // First use, or the SVID rotated: pooled connections keep the context they started with.
    ASSIGN_OR_RETURN(std::shared_ptr<ClientTlsContext> context,
                     ClientTlsContext::create(svid, options_.clock));
    contexts_[svid->id] = context;
    return context;
  }

  void dial(const PooledConnectionPtr& c) {
    absl::StatusOr<std::shared_ptr<ClientTlsContext>> context = contextFor(c->svid);
    if (!context.ok()) {
      failAndRemove(c, context.status());
      return;
    }
    c->dial = std::make_shared<Dial>(executor_, *std::move(context));
    Dial& dial = *c->dial;
    if (absl::Status s =
            dial.context->prepare(dial.tls->native_handle(), c->key.destination, &dial.state);
        !s.ok()) {
      failAndRemove(c, s);
      return;
    }
    dial.timer.expires_after(absl::ToChronoMilliseconds(options_.connect_timeout));
    dial.timer.async_wait([dial = c->dial](const std::error_code& ec) {
      if (!ec) {
        dial->timed_out = true;
        dial->abort();
      }
    });
    // Every pending operation's handler owns the dial: its stream must outlive them.
    dial.tls->lowest_layer().async_connect(
        common::toEndpoint(c->key.node),
        [self = shared_from_this(), c, dial = c->dial](const std::error_code& ec) {
          self->onConnected(c, dial, ec);
        });
  }

  void onConnected(const PooledConnectionPtr& c, const std::shared_ptr<Dial>& dial,
                   const std::error_code& ec) {
    if (c->failed) {
      return;
    }
    if (ec) {
      ++stats_.connect_failures;
      const std::string why = dial->timed_out ? "timed out" : ec.message();
      failAndRemove(c, absl::UnavailableError(
                           absl::StrCat("tunnel connect to ", c->key.node.toString(), ": ", why)));
      return;
    }
    std::error_code ignored;
    dial->tls->lowest_layer().set_option(tcp::no_delay(true), ignored);
    ++stats_.handshakes;
    dial->tls->async_handshake(asio::ssl::stream_base::client,
                               [self = shared_from_this(), c, dial](const std::error_code& ec) {
                                 self->onHandshake(c, dial, ec);
                               });
  }

  void onHandshake(const PooledConnectionPtr& c, const std::shared_ptr<Dial>& dial,
                   const std::error_code& ec) {
    if (c->failed) {
      return;
    }
    c->dial = nullptr;
    dial->timer.cancel();
    SSL* ssl = dial->tls->native_handle();
    absl::StatusOr<SpiffeId> peer =
        ec ? handshakeError(dial->state, ec) : checkHandshake(ssl, dial->state);
    detachPeerState(ssl);
    if (!peer.ok()) {
      stats_.handshake_failures.add(dial->timed_out ? HandshakeFailure::kTimeout
                                                    : classifyHandshakeError(peer.status()));
      absl::Status reason = peer.status();
      if (dial->timed_out) {
        reason = absl::UnavailableError(
            absl::StrCat("tunnel to ", c->key.node.toString(), " timed out in the TLS handshake"));
      }
      failAndRemove(c, reason);
      return;
    }
    auto h2 = H2Connection::create(H2Connection::Role::kClient, std::move(dial->tls), options_.h2);
    if (!h2.ok()) {
      failAndRemove(c, h2.status());
      return;
    }
    c->h2 = *std::move(h2);
    std::weak_ptr<PooledConnection> weak = c;
    c->h2->start([self = shared_from_this(), weak] { self->onReady(weak.lock()); }, nullptr,
                 [self = shared_from_this(), weak](const absl::Status& reason) {
                   if (auto c = weak.lock()) {
                     self->failAndRemove(c, reason);
                   }
                 });
  }

  // The peer's stream limit is known now: waiters it has no room for go elsewhere.
  void onReady(const PooledConnectionPtr& c) {
    if (c == nullptr || c->failed) {
      return;
    }
    c->ready = true;
    std::vector<Waiter> waiters = std::exchange(c->waiters, {});
    for (Waiter& w : waiters) {
      if (c->h2->hasCapacity()) {
        c->h2->openStream(std::move(w.target), std::move(w.handler));
      } else {
        route(c->key, c->svid, std::move(w));
      }
    }
  }

  // Only a list this call emptied is erased: route() up the stack may hold a reference to it.
  void failAndRemove(const PooledConnectionPtr& c, const absl::Status& reason) {
    auto it = pool_.find(c->key);
    if (it != pool_.end() && std::erase(it->second, c) > 0 && it->second.empty()) {
      pool_.erase(it);
    }
    fail(*c, reason);
  }

  // Fails the waiters (posted: this may run inside open()) and ends the dial or the
  // connection, which fails its streams.
  void fail(PooledConnection& c, const absl::Status& reason) {
    c.failed = true;
    for (Waiter& w : std::exchange(c.waiters, {})) {
      post(std::move(w.handler), reason);
    }
    if (c.dial != nullptr) {
      std::exchange(c.dial, nullptr)->abort();
    }
    if (c.h2 != nullptr) {
      c.h2->close(reason);
    }
  }

  void post(OpenHandler handler, absl::Status reason) {
    asio::post(executor_, [handler = std::move(handler), reason = std::move(reason)]() mutable {
      handler(std::move(reason));
    });
  }

  asio::any_io_executor executor_;
  std::shared_ptr<const CertificateStore> identities_;
  TunnelClientOptions options_;
  absl::flat_hash_map<PoolKey, std::vector<PooledConnectionPtr>> pool_;
  absl::flat_hash_map<SpiffeId, std::shared_ptr<ClientTlsContext>> contexts_;
  std::vector<std::weak_ptr<H2Connection>> draining_;  // retired, closing once their streams end
};

TunnelClient::TunnelClient(asio::any_io_executor executor,
                           std::shared_ptr<const CertificateStore> identities,
                           TunnelClientOptions options)
    : impl_(
          std::make_shared<Impl>(std::move(executor), std::move(identities), std::move(options))) {}

TunnelClient::~TunnelClient() {
  impl_->closeAll();
}

void TunnelClient::openStream(const SpiffeId& source, const SocketAddress& node,
                              const SpiffeId& destination, std::string target,
                              OpenHandler handler) {
  impl_->open(PoolKey{source, node, destination}, std::move(target), std::move(handler));
}

size_t TunnelClient::connectionCount() const {
  return impl_->connectionCount();
}

const TunnelClientStats& TunnelClient::stats() const {
  return impl_->stats_;
}

void TunnelClient::closeAll() {
  impl_->closeAll();
}

}  // namespace weft::agent::tunnel
