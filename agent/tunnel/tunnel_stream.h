#pragma once

// One tunnelled TCP connection: an HTTP/2 CONNECT stream on a shared TLS connection. Its
// reads and writes look like a socket's (so a relay treats both the same way):
//  - asyncRead completes with bytes, or asio::error::eof once the peer half-closed
//    (END_STREAM), or asio::error::connection_reset when the stream was reset (RST_STREAM,
//    or the connection died: asio::error::connection_aborted);
//  - asyncWrite completes once every byte was handed to HTTP/2, which sends only as far as the
//    peer's flow-control window allows: a slow reader on the other end stalls writes here;
//  - shutdownWrite sends END_STREAM after what was written; reset sends RST_STREAM(CANCEL).
// Received bytes wait in the stream until read, and the peer's window is reopened only as
// they are read, so a stream never buffers more than the window it advertised.
//
// Every call must be made on the connection's executor; at most one read and one write may
// be pending. Handlers are never called from inside the initiating call. Dropping the last
// reference to an open stream resets it.

#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace weft::agent::tunnel {

class H2Connection;
struct H2Callbacks;

class TunnelStream : public std::enable_shared_from_this<TunnelStream> {
 public:
  using IoHandler = std::function<void(const std::error_code&, size_t)>;

  TunnelStream(std::shared_ptr<H2Connection> connection, int32_t id, std::string authority);
  ~TunnelStream();
  TunnelStream(const TunnelStream&) = delete;
  TunnelStream& operator=(const TunnelStream&) = delete;

  void asyncRead(asio::mutable_buffer buffer, IoHandler handler);
  void asyncWrite(asio::const_buffer buffer, IoHandler handler);
  void shutdownWrite();
  void reset();
  // Server side: answers the CONNECT request; 200 opens the tunnel, any other status ends it.
  void answer(int status);

  int32_t id() const { return id_; }
  // The CONNECT target, host:port.
  const std::string& authority() const { return authority_; }
  // Received bytes not read yet, and the most there ever were (flow control bounds both).
  size_t bufferedBytes() const { return rx_.size() - rx_offset_; }
  size_t maxBufferedBytes() const { return max_buffered_; }

 private:
  friend class H2Connection;
  friend struct H2Callbacks;

  // --- called by the connection, from nghttp2 callbacks (nothing user-visible happens) ---
  void onData(const uint8_t* data, size_t length);
  void onEndStream() { rx_eof_ = true; }
  void onClosed(std::error_code error);
  // The DATA source: how many bytes (up to `max`) can go now, and whether END_STREAM follows.
  size_t pendingWrite(size_t max, bool* eof) const;
  // Appends `length` pending bytes to `out` and advances.
  void takeWrite(std::vector<uint8_t>* out, size_t length);

  // --- called by the connection outside nghttp2: completes what is ready ---
  void process();

  bool hasWrite() const { return write_handler_ != nullptr; }
  bool deliverRead();

  std::shared_ptr<H2Connection> connection_;
  int32_t id_;
  std::string authority_;

  // Receive side. A pending read is filled straight from the frame when nothing is queued.
  std::vector<uint8_t> rx_;
  size_t rx_offset_ = 0;
  size_t max_buffered_ = 0;
  bool rx_eof_ = false;
  asio::mutable_buffer read_buffer_;
  size_t read_filled_ = 0;
  IoHandler read_handler_;

  // Send side: the caller's buffer, sent in place.
  const uint8_t* tx_data_ = nullptr;
  size_t tx_left_ = 0;
  size_t tx_total_ = 0;
  IoHandler write_handler_;
  bool tx_shutdown_ = false;
  bool refused_ = false;  // answered with an error status (and END_STREAM)

  bool open_ = true;     // known to the HTTP/2 session
  bool closed_ = false;  // closed (by either end, or with the connection)
  std::error_code closed_error_;
  bool queued_ = false;  // in the connection's list of streams to process
};

using TunnelStreamPtr = std::shared_ptr<TunnelStream>;

}  // namespace weft::agent::tunnel
