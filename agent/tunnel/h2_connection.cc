#include "agent/tunnel/h2_connection.h"

#include <asio/post.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace weft::agent::tunnel {
namespace {

constexpr size_t kReadSize = 64 << 10;

nghttp2_nv header(absl::string_view name, absl::string_view value) {
  return {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
          const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

absl::string_view view(const uint8_t* data, size_t length) {
  return absl::string_view(reinterpret_cast<const char*>(data), length);
}

constexpr absl::string_view kRefusalPayload = "weft.io/tunnel/http-status";

absl::StatusCode codeFromHttp(int status) {
  switch (status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 502:
    case 503:
    case 504:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kUnknown;
  }
}

// The client's view of a non-200 answer to CONNECT; the status itself rides along as a
// payload, so callers can tell a refusal from a failure to get an answer.
absl::Status statusFromHttp(int status, const std::string& authority) {
  absl::Status error(codeFromHttp(status),
                     absl::StrCat("tunnel peer answered CONNECT ", authority, " with ", status));
  error.SetPayload(kRefusalPayload, absl::Cord(absl::StrCat(status)));
  return error;
}

}  // namespace

std::optional<int> refusalStatus(const absl::Status& error) {
  const auto payload = error.GetPayload(kRefusalPayload);  // absl::optional in this Abseil
  int status = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &status)) {
    return std::nullopt;
  }
  return status;
}

// nghttp2's C callbacks; each records what happened and returns.
struct H2Callbacks {
  static H2Connection& self(void* user_data) { return *static_cast<H2Connection*>(user_data); }

  static ssize_t send(nghttp2_session*, const uint8_t* data, size_t length, int, void* user) {
    H2Connection& c = self(user);
    if (c.out_.size() >= c.options_.write_batch) {
      return NGHTTP2_ERR_WOULDBLOCK;
    }
    c.out_.insert(c.out_.end(), data, data + length);
    return static_cast<ssize_t>(length);
  }

  // The DATA source of every stream: the bytes its pending write still holds.
  static ssize_t readData(nghttp2_session*, int32_t id, uint8_t*, size_t length, uint32_t* flags,
                          nghttp2_data_source*, void* user) {
    H2Connection& c = self(user);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) {
      if (c.ending_.contains(id)) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
      }
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    bool eof = false;
    const size_t n = it->second->pendingWrite(length, &eof);
    if (n == 0 && !eof) {
      return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY | (eof ? NGHTTP2_DATA_FLAG_EOF : 0);
    return static_cast<ssize_t>(n);
  }

  static int sendData(nghttp2_session*, nghttp2_frame* frame, const uint8_t* frame_header,
                      size_t length, nghttp2_data_source*, void* user) {
    H2Connection& c = self(user);
    if (c.out_.size() >= c.options_.write_batch) {
      return NGHTTP2_ERR_WOULDBLOCK;
    }
    auto it = c.streams_.find(frame->hd.stream_id);
    if (it == c.streams_.end()) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    c.out_.insert(c.out_.end(), frame_header, frame_header + 9);
    const size_t padding = frame->data.padlen;
    if (padding > 0) {
      c.out_.push_back(static_cast<uint8_t>(padding - 1));
    }
    it->second->takeWrite(&c.out_, length);
    if (padding > 1) {
      c.out_.insert(c.out_.end(), padding - 1, 0);
    }
    c.markDirty(*it->second);
    return 0;
  }

  static int beginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2Connection& c = self(user);
    if (c.role_ != H2Connection::Role::kServer || frame->hd.type != NGHTTP2_HEADERS ||
        frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
      return 0;
    }
    const int32_t id = frame->hd.stream_id;
    auto stream = std::make_shared<TunnelStream>(c.shared_from_this(), id, std::string());
    c.streams_[id] = stream.get();
    c.incoming_[id].stream = std::move(stream);
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                      void* user) {
    H2Connection& c = self(user);
    const absl::string_view key = view(name, name_length);
    const absl::string_view text = view(value, value_length);
    if (auto it = c.opening_.find(frame->hd.stream_id); it != c.opening_.end()) {
      if (key == ":status" && !absl::SimpleAtoi(text, &it->second.status)) {
        it->second.status = 0;
      }
    } else if (auto in = c.incoming_.find(frame->hd.stream_id); in != c.incoming_.end()) {
      if (key == ":method") {
        in->second.method = std::string(text);
      } else if (key == ":authority") {
        in->second.stream->authority_ = std::string(text);
      }
    }
    return 0;
  }

  static int frameReceived(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    H2Connection& c = self(user);
    const int32_t id = frame->hd.stream_id;
    switch (frame->hd.type) {
      case NGHTTP2_SETTINGS:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0 && !c.settings_received_) {
          c.settings_received_ = true;
          c.ready_event_ = true;
        }
        return 0;
      case NGHTTP2_GOAWAY:
        c.goaway_ = true;
        return 0;
      case NGHTTP2_HEADERS:
        if (auto it = c.opening_.find(id); it != c.opening_.end() && it->second.status >= 200) {
          it->second.answered = true;
        }
        if (auto it = c.incoming_.find(id); it != c.incoming_.end()) {
          it->second.complete = true;
        }
        break;
      case NGHTTP2_DATA:
        break;
      default:
        return 0;
    }
    auto it = c.streams_.find(id);
    if (it != c.streams_.end()) {
      if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
        it->second->onEndStream();
      }
      c.markDirty(*it->second);
    }
    return 0;
  }

  static int dataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                       size_t length, void* user) {
    H2Connection& c = self(user);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) {
      // Nobody will read it (the stream was dropped): credit the connection window now.
      nghttp2_session_consume(session, id, length);
      return 0;
    }
    it->second->onData(data, length);
    c.markDirty(*it->second);
    return 0;
  }

  static int streamClosed(nghttp2_session*, int32_t id, uint32_t error_code, void* user) {
    H2Connection& c = self(user);
    if (c.role_ == H2Connection::Role::kClient && (id & 1) == 1 && c.active_streams_ > 0) {
      --c.active_streams_;
    }
    c.ending_.erase(id);
    auto it = c.streams_.find(id);
    if (it != c.streams_.end()) {
      it->second->onClosed(error_code == NGHTTP2_NO_ERROR
                               ? std::error_code()
                               : std::error_code(asio::error::connection_reset));
      c.markDirty(*it->second);
    }
    return 0;
  }

  static nghttp2_session_callbacks* make() {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) {
      return nullptr;
    }
    nghttp2_session_callbacks_set_send_callback(callbacks, send);
    nghttp2_session_callbacks_set_send_data_callback(callbacks, sendData);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, beginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, frameReceived);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, dataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, streamClosed);
    return callbacks;
  }
};

absl::StatusOr<std::shared_ptr<H2Connection>> H2Connection::create(Role role,
                                                                   std::unique_ptr<SslStream> tls,
                                                                   const H2Options& options) {
  // Built once and only read afterwards, so every connection on every thread shares it.
  static nghttp2_session_callbacks* const callbacks = H2Callbacks::make();
  nghttp2_option* option = nullptr;
  if (callbacks == nullptr || nghttp2_option_new(&option) != 0) {
    return absl::ResourceExhaustedError("out of memory creating an HTTP/2 session");
  }
  nghttp2_option_set_no_auto_window_update(option, 1);
  std::shared_ptr<H2Connection> connection(new H2Connection(role, std::move(tls), options));
  const int rv =
      role == Role::kClient
          ? nghttp2_session_client_new2(&connection->session_, callbacks, connection.get(), option)
          : nghttp2_session_server_new2(&connection->session_, callbacks, connection.get(), option);
  nghttp2_option_del(option);
  if (rv != 0) {
    return absl::InternalError(absl::StrCat("nghttp2 session: ", nghttp2_strerror(rv)));
  }
  connection->in_.resize(kReadSize);
  connection->out_.reserve(options.write_batch + (32 << 10));
  return connection;
}

H2Connection::~H2Connection() {
  nghttp2_session_del(session_);
}

void H2Connection::start(ReadyHandler ready, RequestHandler requests, CloseHandler closed) {
  on_ready_ = std::move(ready);
  on_request_ = std::move(requests);
  on_closed_ = std::move(closed);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(options_.stream_window)},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  const size_t count = role_ == Role::kClient ? 3 : 2;
  int rv = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, count);
  if (rv == 0) {
    rv = nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                               options_.connection_window);
  }
  if (rv != 0) {
    fail(absl::InternalError(absl::StrCat("HTTP/2 settings: ", nghttp2_strerror(rv))));
    return;
  }
  read();
  flush();
}

bool H2Connection::hasCapacity() const {
  if (!ready() || goaway_) {
    return false;
  }
  const uint32_t limit =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return active_streams_ < limit;
}

void H2Connection::openStream(std::string authority, OpenHandler handler) {
  if (closed_ || goaway_) {
    asio::post(executor(), [handler = std::move(handler)] {
      handler(absl::UnavailableError("tunnel connection is closed"));
    });
    return;
  }
  const nghttp2_nv headers[] = {header(":method", "CONNECT"), header(":authority", authority)};
  nghttp2_data_provider provider{};
  provider.read_callback = H2Callbacks::readData;
  const int32_t id = nghttp2_submit_request(session_, nullptr, headers, 2, &provider, nullptr);
  if (id < 0) {
    asio::post(executor(), [handler = std::move(handler), id] {
      handler(absl::UnavailableError(absl::StrCat("tunnel stream: ", nghttp2_strerror(id))));
    });
    return;
  }
  ++active_streams_;
  auto stream = std::make_shared<TunnelStream>(shared_from_this(), id, std::move(authority));
  streams_[id] = stream.get();
  opening_[id] = Opening{std::move(stream), std::move(handler)};
  requestFlush();
}

void H2Connection::respond(TunnelStream& stream, int status) {
  if (closed_ || !stream.open_) {
    return;
  }
  const std::string code = absl::StrCat(status);
  const nghttp2_nv headers[] = {header(":status", code)};
  nghttp2_data_provider provider{};
  provider.read_callback = H2Callbacks::readData;
  // Only an accepted CONNECT carries data; any other answer ends the stream.
  nghttp2_submit_response(session_, stream.id(), headers, 1, status == 200 ? &provider : nullptr);
  requestFlush();
}

void H2Connection::drain() {
  if (closed_ || goaway_) {
    return;
  }
  goaway_ = true;
  // nghttp2 stops wanting to read or write once GOAWAY is out and no stream is left; flush()
  // closes the connection then.
  const int rv = nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                                       nghttp2_session_get_last_proc_stream_id(session_),
                                       NGHTTP2_NO_ERROR, nullptr, 0);
  if (rv != 0) {
    fail(absl::InternalError(absl::StrCat("HTTP/2 GOAWAY: ", nghttp2_strerror(rv))));
    return;
  }
  requestFlush();
}

void H2Connection::close(const absl::Status& reason) {
  fail(reason);
}

void H2Connection::markDirty(TunnelStream& stream) {
  if (!stream.queued_) {
    stream.queued_ = true;
    dirty_.push_back(stream.id());
  }
}

// Batches: everything the streams submit before the posted flush runs goes out in one write.
// Also after the connection closed: streams still complete their operations through it.
void H2Connection::requestFlush() {
  if (flush_posted_) {
    return;
  }
  flush_posted_ = true;
  asio::post(executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void H2Connection::resumeData(int32_t id) {
  if (!closed_) {
    nghttp2_session_resume_data(session_, id);  // fails harmlessly when not deferred
    requestFlush();
  }
}

void H2Connection::consume(int32_t id, size_t length) {
  if (!closed_ && length > 0) {
    nghttp2_session_consume(session_, id, length);
    requestFlush();
  }
}

void H2Connection::resetStream(int32_t id) {
  if (!closed_) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    requestFlush();
  }
}

void H2Connection::endGracefully(int32_t id) {
  if (!closed_) {
    ending_.insert(id);
    resumeData(id);
  }
}

void H2Connection::detach(TunnelStream& stream) {
  streams_.erase(stream.id());
}

void H2Connection::read() {
  tls_->async_read_some(
      asio::buffer(in_),
      [self = shared_from_this()](const std::error_code& ec, size_t n) { self->onRead(ec, n); });
}

void H2Connection::onRead(const std::error_code& ec, size_t n) {
  if (closed_) {
    return;
  }
  if (ec) {
    fail(absl::UnavailableError(absl::StrCat("tunnel connection lost: ", ec.message())));
    return;
  }
  const ssize_t rv = nghttp2_session_mem_recv(session_, in_.data(), n);
  if (rv < 0) {
    fail(absl::InternalError(absl::StrCat("HTTP/2 protocol error: ", nghttp2_strerror(rv))));
    return;
  }
  processDirty();
  flush();
  if (!closed_) {
    read();
  }
}

void H2Connection::flush() {
  if (closed_) {
    processDirty();
    return;
  }
  if (!writing_) {
    const int rv = nghttp2_session_send(session_);
    if (rv != 0) {
      fail(absl::InternalError(absl::StrCat("HTTP/2 send: ", nghttp2_strerror(rv))));
      return;
    }
  }
  processDirty();
  if (closed_ || writing_) {
    return;
  }
  if (out_.empty()) {
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      fail(absl::UnavailableError("tunnel connection closed by GOAWAY"));
    }
    return;
  }
  writing_ = true;
  asio::async_write(
      *tls_, asio::buffer(out_), [self = shared_from_this()](const std::error_code& ec, size_t) {
        self->writing_ = false;
        if (ec) {
          self->fail(
              absl::UnavailableError(absl::StrCat("tunnel connection lost: ", ec.message())));
          return;
        }
        self->out_.clear();
        self->flush();
      });
}

void H2Connection::processDirty() {
  // A handler may close the connection, which processes again: the outer loop does it.
  if (processing_active_) {
    return;
  }
  processing_active_ = true;
  if (ready_event_) {
    ready_event_ = false;
    if (on_ready_) {
      std::exchange(on_ready_, nullptr)();
    }
  }
  while (!dirty_.empty()) {
    processing_.swap(dirty_);
    for (int32_t id : processing_) {
      if (opening_.contains(id)) {
        finishOpening(id);
      } else if (incoming_.contains(id)) {
        dispatchIncoming(id);
      }
      auto it = streams_.find(id);
      if (it != streams_.end()) {
        it->second->queued_ = false;
        it->second->process();
      }
    }
    processing_.clear();
  }
  processing_active_ = false;
}

void H2Connection::finishOpening(int32_t id) {
  auto it = opening_.find(id);
  Opening& opening = it->second;
  if (!opening.answered && !opening.stream->closed_) {
    return;
  }
  Opening done = std::move(opening);
  opening_.erase(it);
  if (!done.answered) {
    done.handler(absl::UnavailableError(
        absl::StrCat("tunnel stream to ", done.stream->authority(), " reset before an answer")));
  } else if (done.status != 200) {
    done.stream->reset();
    done.handler(statusFromHttp(done.status, done.stream->authority()));
  } else {
    done.handler(std::move(done.stream));
  }
}

void H2Connection::dispatchIncoming(int32_t id) {
  auto it = incoming_.find(id);
  if (!it->second.complete && !it->second.stream->closed_) {
    return;
  }
  Incoming request = std::move(it->second);
  incoming_.erase(it);
  if (request.stream->closed_) {
    return;
  }
  if (request.method != "CONNECT") {
    request.stream->answer(405);  // answer(), not respond(): dropping the stream must not reset
    return;
  }
  if (on_request_) {
    on_request_(std::move(request.stream));
  }
}

void H2Connection::fail(const absl::Status& reason) {
  if (closed_) {
    return;
  }
  closed_ = true;
  std::error_code ignored;
  tls_->lowest_layer().close(ignored);
  for (auto& [id, stream] : streams_) {
    stream->onClosed(asio::error::connection_aborted);
    markDirty(*stream);
  }
  auto opening = std::move(opening_);
  opening_.clear();
  incoming_.clear();
  for (auto& [id, entry] : opening) {
    entry.handler(reason);
  }
  processDirty();
  on_ready_ = nullptr;
  on_request_ = nullptr;
  if (on_closed_) {
    std::exchange(on_closed_, nullptr)(reason);
  }
}

}  // namespace weft::agent::tunnel
