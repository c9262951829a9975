// zstd's rsyncable mode is in its "experimental" section.
#define ZSTD_STATIC_LINKING_ONLY
#include "odbox/util/zstd_stream.hpp"

#include <stdexcept>
#include <zstd.h>

namespace odbox::util {
namespace {

std::string zstd_error(std::string_view call, std::size_t code) {
  return std::string(call) + ": " + ZSTD_getErrorName(code);
}

void set_parameter(ZSTD_CCtx* ctx, ZSTD_cParameter parameter, int value,
                   std::string_view what) {
  if (const std::size_t rc = ZSTD_CCtx_setParameter(ctx, parameter, value);
      ZSTD_isError(rc)) {
    throw std::runtime_error(
        zstd_error("ZSTD_CCtx_setParameter(" + std::string(what) + ")", rc));
  }
}

} // namespace

struct ZstdCompressor::Impl {
  ZSTD_CCtx* ctx = nullptr;
  std::vector<char> out;
  ~Impl() { ZSTD_freeCCtx(ctx); }
};

ZstdCompressor::ZstdCompressor(ZstdParameters parameters)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx = ZSTD_createCCtx();
  if (m_impl->ctx == nullptr) {
    throw std::runtime_error("ZSTD_createCCtx: out of memory");
  }
  set_parameter(m_impl->ctx, ZSTD_c_compressionLevel, parameters.level, "level");
  set_parameter(m_impl->ctx, ZSTD_c_checksumFlag, 1, "checksum");
  if (parameters.workers > 0) {
    set_parameter(m_impl->ctx, ZSTD_c_nbWorkers, parameters.workers, "workers");
    set_parameter(m_impl->ctx, ZSTD_c_rsyncable, 1, "rsyncable");
  }
  m_impl->out.resize(ZSTD_CStreamOutSize());
}

ZstdCompressor::~ZstdCompressor() = default;

std::string ZstdCompressor::drive(std::string_view input, bool end,
                                  const ByteSink& sink) {
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  const ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
  while (true) {
    ZSTD_outBuffer out{m_impl->out.data(), m_impl->out.size(), 0};
    const std::size_t left = ZSTD_compressStream2(m_impl->ctx, &out, &in, mode);
    if (ZSTD_isError(left)) {
      return zstd_error("ZSTD_compressStream2", left);
    }
    if (out.pos > 0) {
      if (std::string error = sink(out.dst, out.pos); !error.empty()) {
        return error;
      }
    }
    // Continue: done once the input is taken (the workers keep the rest);
    // end: done once the frame is flushed.
    if (end ? left == 0 : in.pos == in.size) {
      return {};
    }
  }
}

std::string ZstdCompressor::write(std::string_view input, const ByteSink& sink) {
  return drive(input, false, sink);
}

std::string ZstdCompressor::finish(const ByteSink& sink) {
  return drive({}, true, sink);
}

struct ZstdDecompressor::Impl {
  ZSTD_DCtx* ctx = nullptr;
  std::vector<char> out;
  std::size_t pending = 1; // ZSTD_decompressStream's last hint: 0 at a frame's end
  bool any = false;
  ~Impl() { ZSTD_freeDCtx(ctx); }
};

ZstdDecompressor::ZstdDecompressor() : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx = ZSTD_createDCtx();
  if (m_impl->ctx == nullptr) {
    throw std::runtime_error("ZSTD_createDCtx: out of memory");
  }
  m_impl->out.resize(ZSTD_DStreamOutSize());
}

ZstdDecompressor::~ZstdDecompressor() = default;

void ZstdDecompressor::feed(std::string_view input, const PlainSink& sink) {
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{m_impl->out.data(), m_impl->out.size(), 0};
    const std::size_t hint = ZSTD_decompressStream(m_impl->ctx, &out, &in);
    if (ZSTD_isError(hint)) {
      throw std::runtime_error(zstd_error("zstd decompression", hint));
    }
    m_impl->pending = hint;
    m_impl->any = true;
    if (out.pos > 0) {
      sink(std::string_view(m_impl->out.data(), out.pos));
    }
  }
  // Output may still sit in the context with all input taken.
  while (m_impl->pending != 0) {
    ZSTD_outBuffer out{m_impl->out.data(), m_impl->out.size(), 0};
    const std::size_t hint = ZSTD_decompressStream(m_impl->ctx, &out, &in);
    if (ZSTD_isError(hint)) {
      throw std::runtime_error(zstd_error("zstd decompression", hint));
    }
    m_impl->pending = hint;
    if (out.pos == 0) {
      break;
    }
    sink(std::string_view(m_impl->out.data(), out.pos));
  }
}

void ZstdDecompressor::finish() const {
  if (!m_impl->any) {
    throw std::runtime_error("zstd decompression: no zstd frame (empty file)");
  }
  if (m_impl->pending != 0) {
    throw std::runtime_error("zstd decompression: the last frame is incomplete "
                             "(truncated file)");
  }
}

} // namespace odbox::util
