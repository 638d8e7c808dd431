#pragma once

// One HTTP/2 session (nghttp2, callback mode) over one TLS connection, driven by Asio on the
// connection's executor: one worker owns it, so nothing on it takes a lock. Both tunnel roles
// use it: the client opens CONNECT streams, the server answers them.
//
// I/O: one read of up to 64 KiB at a time is fed to nghttp2_session_mem_recv; frames to send
// are gathered into one buffer (up to H2Options::write_batch) and written with one
// async_write, DATA payloads copied once, straight from the caller's buffer (NO_COPY data
// source). Flow control is manual (NGHTTP2_OPT_NO_AUTO_WINDOW_UPDATE): a stream's bytes are
// credited back to the peer only when its reader takes them.
//
// Events raised inside nghttp2 callbacks are only recorded; callers' handlers run after
// nghttp2 returns, so a handler may call anything.

#include <nghttp2/nghttp2.h>

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "agent/tunnel/tunnel_stream.h"

namespace weft::agent::tunnel {

using SslStream = asio::ssl::stream<asio::ip::tcp::socket>;

struct H2Options {
  // Streams the peer may open on a connection we accept (SETTINGS_MAX_CONCURRENT_STREAMS).
  uint32_t max_concurrent_streams = 1000;
  // What one stream, and all streams together, may have received but not read: the memory a
  // connection can hold, and the bandwidth-delay product a stream can fill.
  int32_t stream_window = 4 << 20;
  int32_t connection_window = 64 << 20;
  size_t write_batch = 256 << 10;
};

// The HTTP status a peer refused a CONNECT with, for an error an OpenHandler got; nullopt when
// the error is not a refusal (the stream never got an answer).
std::optional<int> refusalStatus(const absl::Status& error);

class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  enum class Role { kClient, kServer };
  using OpenHandler = std::function<void(absl::StatusOr<TunnelStreamPtr>)>;
  // Server: a complete CONNECT request; answer it with respond().
  using RequestHandler = std::function<void(TunnelStreamPtr)>;
  using ReadyHandler = std::function<void()>;
  using CloseHandler = std::function<void(const absl::Status&)>;

  // `tls` has completed its handshake.
  static absl::StatusOr<std::shared_ptr<H2Connection>> create(Role role,
                                                              std::unique_ptr<SslStream> tls,
                                                              const H2Options& options);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Sends SETTINGS and starts reading. `ready` runs once the peer's SETTINGS arrived (its
  // stream limit is known then); `closed` once, when the connection is gone.
  void start(ReadyHandler ready, RequestHandler requests, CloseHandler closed);

  // Client: CONNECT `authority` (host:port). The handler gets the stream once the peer
  // answered 200, or an error: the peer's status mapped to a code, or the connection's fate.
  void openStream(std::string authority, OpenHandler handler);
  // Server: answers a request; 200 opens the tunnel, any other status ends the stream.
  void respond(TunnelStream& stream, int status);

  bool ready() const { return settings_received_ && !closed_; }
  bool closed() const { return closed_; }
  // Whether one more stream fits under the peer's SETTINGS_MAX_CONCURRENT_STREAMS.
  bool hasCapacity() const;
  size_t activeStreams() const { return active_streams_; }
  // Graceful: no new streams; sends GOAWAY and closes once the open streams have ended.
  void drain();
  // Abrupt close: every stream fails with connection_aborted.
  void close(const absl::Status& reason);
  asio::any_io_executor executor() { return tls_->get_executor(); }

 private:
  friend class TunnelStream;
  friend struct H2Callbacks;

  struct Opening {
    TunnelStreamPtr stream;
    OpenHandler handler;
    int status = 0;
    bool answered = false;
  };
  struct Incoming {
    TunnelStreamPtr stream;
    std::string method;
    bool complete = false;
  };

  H2Connection(Role role, std::unique_ptr<SslStream> tls, const H2Options& options)
      : role_(role), tls_(std::move(tls)), options_(options) {}

  // For TunnelStream.
  void markDirty(TunnelStream& stream);
  void requestFlush();
  void resumeData(int32_t id);
  void consume(int32_t id, size_t length);
  void resetStream(int32_t id);
  void endGracefully(int32_t id);
  void detach(TunnelStream& stream);

  void read();
  void onRead(const std::error_code& ec, size_t n);
  void flush();
  void processDirty();
  void finishOpening(int32_t id);
  void dispatchIncoming(int32_t id);
  void fail(const absl::Status& reason);

  Role role_;
  std::unique_ptr<SslStream> tls_;
  H2Options options_;
  nghttp2_session* session_ = nullptr;

  absl::flat_hash_map<int32_t, TunnelStream*> streams_;
  absl::flat_hash_map<int32_t, Opening> opening_;
  absl::flat_hash_map<int32_t, Incoming> incoming_;
  absl::flat_hash_set<int32_t> ending_;  // dropped streams whose END_STREAM is still queued
  std::vector<int32_t> dirty_;
  std::vector<int32_t> processing_;

  ReadyHandler on_ready_;
  RequestHandler on_request_;
  CloseHandler on_closed_;

  std::vector<uint8_t> in_;
  std::vector<uint8_t> out_;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool processing_active_ = false;
  bool settings_received_ = false;
  bool ready_event_ = false;
  bool goaway_ = false;
  bool closed_ = false;
  size_t active_streams_ = 0;
};

}  // namespace weft::agent::tunnel
