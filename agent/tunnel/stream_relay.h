#pragma once

// Moves bytes between a tunnel stream and a TCP socket, with the semantics of
// agent/proxy/relay.h: EOF on one side is passed on as a half-close of the other (END_STREAM
// one way, shutdown(SHUT_WR) the other), a reset or an error on either side resets both (TCP
// RST, RST_STREAM). A slow side pushes back on the other: each direction reads again only
// once its last chunk was written (TCP flow control one way, HTTP/2 windows the other).
//
// Both ends of a tunnel use it: the source agent between the pod's accepted socket and the
// stream TunnelClient::openStream gave it, the destination agent (TunnelServer) between the
// stream and its connection to the pod.

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>

#include "agent/tunnel/tunnel_stream.h"

namespace weft::agent::tunnel {

enum class StreamRelayOutcome {
  kCompleted,  // both directions reached EOF
  kFailed,     // a reset or an error; both sides were reset
};

struct StreamRelayResult {
  StreamRelayOutcome outcome = StreamRelayOutcome::kCompleted;
  uint64_t to_stream = 0;  // bytes read from the socket and written to the stream
  uint64_t to_socket = 0;  // bytes read from the stream and written to the socket
};

// Takes both (the socket on the stream's executor) and calls `done` once, after both are
// closed. `buffer_size` bytes per direction are allocated once, here.
void relayStream(TunnelStreamPtr stream, asio::ip::tcp::socket socket, size_t buffer_size,
                 std::function<void(const StreamRelayResult&)> done);

}  // namespace weft::agent::tunnel
