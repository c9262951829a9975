#include "odbox/util/digest.hpp"

#include "odbox/util/fd.hpp"

#include <cerrno>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace odbox::util {

struct Digest::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Digest::Digest(Kind kind) : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx = EVP_MD_CTX_new();
  const EVP_MD* md = kind == Kind::sha1 ? EVP_sha1() : EVP_sha256();
  if (m_impl->ctx == nullptr || EVP_DigestInit_ex(m_impl->ctx, md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL: cannot initialise digest");
  }
}

Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::update(const void* data, std::size_t size) {
  if (EVP_DigestUpdate(m_impl->ctx, data, size) != 1) {
    throw std::runtime_error("OpenSSL: digest update failed");
  }
}

std::string Digest::hex_final() {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(m_impl->ctx, raw, &size) != 1) {
    throw std::runtime_error("OpenSSL: digest final failed");
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(k_hex[raw[i] >> 4U]);
    out.push_back(k_hex[raw[i] & 0xFU]);
  }
  return out;
}

std::string file_digest(const std::string& path, Digest::Kind kind) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    throw std::system_error(errno, std::generic_category(), "open " + path);
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  Digest digest(kind);
  std::vector<char> buffer(1U << 20U);
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::system_error(errno, std::generic_category(), "read " + path);
    }
    if (n == 0) {
      break;
    }
    digest.update(buffer.data(), static_cast<std::size_t>(n));
  }
  return digest.hex_final();
}

} // namespace odbox::util
