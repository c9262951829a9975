#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace odbox::util {

// Incremental message digest (OpenSSL EVP): SHA-256 for dumps, SHA-1 for
// Odoo's content-addressed file store. Throws std::runtime_error only if
// OpenSSL itself fails (out of memory).
class Digest {
public:
  enum class Kind { sha1, sha256 };
  explicit Digest(Kind kind);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex; the digest cannot be updated afterwards.
  [[nodiscard]] std::string hex_final();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Hex digest of a whole file, read in 1 MiB chunks (constant memory).
// Throws std::system_error naming the path when the file cannot be read.
[[nodiscard]] std::string file_digest(const std::string& path, Digest::Kind kind);

} // namespace odbox::util
