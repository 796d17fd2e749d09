// The memory meter: each block carries its size in a header, since free hooks are not told it.
#include "memory_meter.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace compresstest {
namespace {

// A whole alignment unit, so the caller's block keeps malloc's alignment.
constexpr std::size_t header_nbytes = alignof(std::max_align_t);

} // namespace

void* memory_meter::allocate(std::size_t nbytes) noexcept {
    if (nbytes > static_cast<std::size_t>(-1) - header_nbytes) return nullptr;
    auto* block = static_cast<unsigned char*>(std::malloc(header_nbytes + nbytes));
    if (!block) return nullptr;
    std::memcpy(block, &nbytes, sizeof nbytes);
    live_nbytes_ += nbytes;
    peak_nbytes_ = std::max(peak_nbytes_, live_nbytes_);
    return block + header_nbytes;
}

void memory_meter::release(void* p) noexcept {
    if (!p) return;
    auto* block = static_cast<unsigned char*>(p) - header_nbytes;
    std::size_t nbytes = 0;
    std::memcpy(&nbytes, block, sizeof nbytes);
    live_nbytes_ -= nbytes;
    std::free(block);
}

} // namespace compresstest
