#include "agent/tunnel/tunnel_stream.h"

#include <algorithm>
#include <asio/post.hpp>
#include <cstring>
#include <utility>

#include "agent/tunnel/h2_connection.h"

namespace weft::agent::tunnel {

TunnelStream::TunnelStream(std::shared_ptr<H2Connection> connection, int32_t id,
                           std::string authority)
    : connection_(std::move(connection)), id_(id), authority_(std::move(authority)) {}

TunnelStream::~TunnelStream() {
  // Bytes nobody will read still hold the peer's connection window.
  connection_->consume(id_, bufferedBytes() + read_filled_);
  if (open_) {
    // Both ends are done and only our END_STREAM is still queued: let it go out instead of
    // turning a clean close into a reset.
    if (refused_) {
      // Nothing to do: the answer carried END_STREAM.
    } else if (rx_eof_ && tx_shutdown_ && tx_left_ == 0) {
      connection_->endGracefully(id_);
    } else {
      connection_->resetStream(id_);
    }
  }
  connection_->detach(*this);
}

void TunnelStream::asyncRead(asio::mutable_buffer buffer, IoHandler handler) {
  read_buffer_ = buffer;
  read_filled_ = 0;
  read_handler_ = std::move(handler);
  if (bufferedBytes() > 0 || rx_eof_ || closed_ || buffer.size() == 0) {
    connection_->markDirty(*this);
    connection_->requestFlush();
  }
}

void TunnelStream::asyncWrite(asio::const_buffer buffer, IoHandler handler) {
  if (tx_shutdown_) {
    asio::post(connection_->executor(),
               [handler = std::move(handler)] { handler(asio::error::shut_down, 0); });
    return;
  }
  tx_data_ = static_cast<const uint8_t*>(buffer.data());
  tx_left_ = buffer.size();
  tx_total_ = buffer.size();
  write_handler_ = std::move(handler);
  if (closed_ || tx_left_ == 0) {
    connection_->markDirty(*this);
    connection_->requestFlush();
    return;
  }
  connection_->resumeData(id_);
}

void TunnelStream::shutdownWrite() {
  if (!tx_shutdown_ && !closed_) {
    tx_shutdown_ = true;
    connection_->resumeData(id_);
  }
}

void TunnelStream::reset() {
  if (closed_) {
    return;
  }
  if (open_) {
    connection_->resetStream(id_);
    open_ = false;
  }
  onClosed(asio::error::operation_aborted);
  connection_->markDirty(*this);
  connection_->requestFlush();
}

void TunnelStream::answer(int status) {
  connection_->respond(*this, status);
  if (status != 200) {
    // The answer ended the stream from our side; a reset now would overtake it (nghttp2 drops
    // queued HEADERS of a stream being reset). The client resets the stream when it reads a
    // refusal.
    tx_shutdown_ = true;
    refused_ = true;
  }
}

void TunnelStream::onData(const uint8_t* data, size_t length) {
  // Straight into a waiting reader's buffer while nothing older is queued.
  if (read_handler_ != nullptr && bufferedBytes() == 0 && read_filled_ < read_buffer_.size()) {
    const size_t n = std::min(length, read_buffer_.size() - read_filled_);
    std::memcpy(static_cast<uint8_t*>(read_buffer_.data()) + read_filled_, data, n);
    read_filled_ += n;
    data += n;
    length -= n;
  }
  if (length > 0) {
    if (rx_offset_ > 0 && rx_offset_ >= rx_.size() / 2) {
      rx_.erase(rx_.begin(), rx_.begin() + static_cast<ptrdiff_t>(rx_offset_));
      rx_offset_ = 0;
    }
    rx_.insert(rx_.end(), data, data + length);
  }
  max_buffered_ = std::max(max_buffered_, bufferedBytes() + read_filled_);
}

void TunnelStream::onClosed(std::error_code error) {
  open_ = false;
  if (!closed_) {
    closed_ = true;
    closed_error_ = error;
  }
}

size_t TunnelStream::pendingWrite(size_t max, bool* eof) const {
  const size_t n = std::min(max, tx_left_);
  *eof = tx_shutdown_ && n == tx_left_;
  return n;
}

void TunnelStream::takeWrite(std::vector<uint8_t>* out, size_t length) {
  out->insert(out->end(), tx_data_, tx_data_ + length);
  tx_data_ += length;
  tx_left_ -= length;
}

void TunnelStream::process() {
  std::shared_ptr<TunnelStream> self = shared_from_this();  // a handler may drop the last ref
  deliverRead();
  if (write_handler_ != nullptr && (tx_left_ == 0 || closed_)) {
    std::error_code ec;
    if (tx_left_ > 0) {
      ec = closed_error_ ? closed_error_ : std::error_code(asio::error::connection_reset);
    }
    const size_t written = tx_total_ - tx_left_;
    tx_left_ = 0;
    std::exchange(write_handler_, nullptr)(ec, written);
  }
}

bool TunnelStream::deliverRead() {
  if (read_handler_ == nullptr) {
    return false;
  }
  size_t n = read_filled_;
  if (n == 0 && bufferedBytes() > 0) {
    n = std::min(read_buffer_.size(), bufferedBytes());
    std::memcpy(read_buffer_.data(), rx_.data() + rx_offset_, n);
    rx_offset_ += n;
    if (rx_offset_ == rx_.size()) {
      rx_.clear();
      rx_offset_ = 0;
    }
  }
  std::error_code ec;
  if (n == 0 && read_buffer_.size() > 0) {
    if (rx_eof_) {
      ec = asio::error::eof;
    } else if (closed_) {
      ec = closed_error_ ? closed_error_ : std::error_code(asio::error::connection_reset);
    } else {
      return false;
    }
  }
  read_filled_ = 0;
  // The peer may send as much again only now that the reader has taken it.
  connection_->consume(id_, n);
  std::exchange(read_handler_, nullptr)(ec, n);
  return true;
}

}  // namespace weft::agent::tunnel
