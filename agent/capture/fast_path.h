#pragma once

// Same-node fast path: a connection between two pods of this node skips the agent's copy
// through user space and one TCP hop. sockops enrols the client pod's socket (at connect, when
// the service has an endpoint on this node) and the backend pod's accepted socket (when the
// agent announced the connection with expect()) in a sockhash; after pair(), the sk_msg
// program moves what each pod sends straight into the send queue of the agent socket facing
// the other pod. The agent keeps relaying in user space whatever still arrives through TCP
// (bytes sent before the pairing), and reports each write with forwarded(): the kernel
// redirects a pod's send only once the agent has relayed everything the pod sent before it,
// so bytes never overtake each other.
//
// What the agent sees: its sockets stay ordinary TCP sockets. EOF, resets and errors arrive
// as always (a FIN is not a send: it still travels through TCP, after the pod's last byte).
//
// How the proxy uses it:
//  1. expect(endpoint, local_port) before connecting an upstream socket bound to local_port;
//     forget(...) once the connect is done, whatever the outcome.
//  2. pair(client_fd, upstream_fd) after connect, before relaying. On an error relay as
//     usual: nothing was redirected, nothing is lost.
//  3. Relay in user space; after every write, forwarded(direction, total written so far).
//  4. Byte counts come from bytesInto(): redirected bytes never pass through the agent.
//  5. Destroy the FastPathConnection before closing the sockets.
// A client whose connection goes to another node leaves the fast path with release(): its
// socket was enrolled at connect (the service has a local endpoint too), and it should not
// pay for the fast path's bookkeeping on every send.

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/net/address.h"

namespace weft::agent::capture {

// The two agent sockets of a relayed connection.
enum class AgentSocket {
  kClient,    // accepted from the client pod
  kUpstream,  // connected to the backend pod
};

// One paired connection. Destroying it unpairs (the pods' sends go through TCP again) and
// takes the agent's sockets out of the sockhash; it does not close them.
class FastPathConnection {
 public:
  virtual ~FastPathConnection() = default;
  // The agent has written `total` bytes into `into` since pair(), all of what it read from
  // the opposite socket so far.
  virtual absl::Status forwarded(AgentSocket into, uint64_t total) = 0;
  // Bytes written into `into` since pair(), by the agent or by the kernel: what the pod
  // behind it was sent. Exact until the agent shuts `into` down (its FIN counts too then).
  virtual absl::StatusOr<uint64_t> bytesInto(AgentSocket into) = 0;
};

class FastPath {
 public:
  virtual ~FastPath() = default;
  // The agent is about to connect from `local_port` to the local pod at `endpoint`: the
  // pod's accepted socket joins the fast path when it is established.
  virtual absl::Status expect(const common::SocketAddress& endpoint, uint16_t local_port) = 0;
  virtual void forget(const common::SocketAddress& endpoint, uint16_t local_port) = 0;
  // Takes the pod socket at the other end of `client_fd` (accepted from it) out of the fast
  // path. Not finding it there is fine: it may never have been enrolled.
  virtual absl::Status release(int client_fd) = 0;
  // Both fds are connected TCP sockets of this process that stay open while the returned
  // connection lives; `client_fd` accepted from a pod, `upstream_fd` connected to one.
  virtual absl::StatusOr<std::unique_ptr<FastPathConnection>> pair(int client_fd,
                                                                   int upstream_fd) = 0;
};

}  // namespace weft::agent::capture
