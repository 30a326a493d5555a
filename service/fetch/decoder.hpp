#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Streaming HTTP content decoding with a cap on decoded bytes (SPEC "Precise rules: Bodies").
// Pure: no Asio. zlib and brotli live behind the .cpp.
namespace trawler::fetch {

enum class content_coding { identity, gzip, deflate, br };

// More codings than this in one Content-Encoding is refused: each stage costs a decoder state
// and a buffer, and no real server stacks more than two.
inline constexpr std::size_t max_content_codings = 4;

// Parses a Content-Encoding header value (RFC 9110 8.4): a comma-separated, case-insensitive
// list with optional whitespace and empty elements. "gzip"/"x-gzip", "deflate", "br" and
// "identity" are known. The result is in header order, that is the order the codings were
// applied ("gzip, br" = gzip first, then br); body_decoder undoes them in reverse. An empty
// value gives an empty list. nullopt for an unknown coding or more than max_content_codings
// codings other than identity.
std::optional<std::vector<content_coding>> parse_content_encoding(std::string_view value);

// Undoes a list of content codings on a body that arrives in pieces, never producing more than
// max_decoded_bytes. Work and memory stay bounded by the cap whatever the input (decompression
// bombs): each stage decodes in fixed-size steps and stops as soon as the cap is reached.
class body_decoder {
 public:
  // codings in header order, as parse_content_encoding returns them. identity entries are
  // no-ops; an empty list (or only identity) copies the body through.
  body_decoder(std::vector<content_coding> codings, std::size_t max_decoded_bytes);
  ~body_decoder();
  body_decoder(body_decoder&&) noexcept;
  body_decoder& operator=(body_decoder&&) noexcept;
  body_decoder(const body_decoder&) = delete;
  body_decoder& operator=(const body_decoder&) = delete;

  enum class status {
    ok,             // all input consumed, decoded bytes appended
    limit_reached,  // the body decodes to more than the cap: exactly the cap was appended in
                    // all; the caller stops reading and flags the body truncated
    error,          // corrupt input (see error_message()); the caller keeps what was appended
  };

  // Decodes the next piece of the encoded body and appends the result to out. Once
  // limit_reached or error has been returned, every later call returns it again and appends
  // nothing. A body exactly max_decoded_bytes long gives ok, not limit_reached.
  status feed(std::string_view encoded, std::string& out);

  // Ends the encoded stream. Lenient: a compressed stream cut short is not an error here (it
  // returns ok and keeps what was decoded); stream_complete() tells whether it was whole.
  // Returns the sticky limit_reached / error status when one occurred. Feeding after finish()
  // is an error.
  status finish(std::string& out);

  // Whether every coding saw its end-of-stream marker (gzip: every started member ended).
  // True for identity, and for an empty encoded body (servers send Content-Encoding on
  // bodiless responses). Meaningful after finish().
  bool stream_complete() const;

  // Bytes appended to out so far, over all calls; never more than max_decoded_bytes.
  std::size_t decoded_bytes() const { return decoded_; }
  const std::string& error_message() const { return error_message_; }

 private:
  struct stage;

  // Hands bytes to stages_[index], or to out (within the cap) past the last stage.
  status deliver(std::size_t index, const unsigned char* data, std::size_t size, std::string& out);
  status run(std::size_t index, const unsigned char* data, std::size_t size, std::string& out);
  status run_zlib(std::size_t index, const unsigned char* data, std::size_t size, std::string& out);
  status run_brotli(std::size_t index, const unsigned char* data, std::size_t size,
                    std::string& out);
  std::size_t step_for(std::size_t index) const;
  status fail(std::string message);

  std::vector<stage> stages_;  // in decoding order: stages_[0] sees the encoded bytes
  std::size_t max_decoded_;
  std::size_t decoded_ = 0;
  std::size_t encoded_seen_ = 0;
  status status_ = status::ok;
  bool finished_ = false;
  std::string error_message_;
};

}  // namespace trawler::fetch
