// Counts a library's heap use through its allocator hooks: the bytes live now and at the peak.
#pragma once

#include <cstddef>

namespace compresstest {

// A codec given a meter routes its library's allocations through allocate() and release()
// (zlib's zalloc, libbz2's bzalloc, ZSTD_customMem, …), so peak_nbytes() is exactly the most
// heap the library held at once. Only the library's own heap is counted, not the output the
// caller collects. Not thread-safe: one meter per codec call.
class memory_meter {
public:
    memory_meter() = default;
    memory_meter(const memory_meter&) = delete;
    memory_meter& operator=(const memory_meter&) = delete;

    // Like malloc (aligned for any type, nullptr when out of memory) and free (nullptr is a
    // no-op); release takes only pointers this meter's allocate returned.
    void* allocate(std::size_t nbytes) noexcept;
    void release(void* p) noexcept;

    std::size_t live_nbytes() const noexcept { return live_nbytes_; }
    std::size_t peak_nbytes() const noexcept { return peak_nbytes_; }

private:
    std::size_t live_nbytes_ = 0;
    std::size_t peak_nbytes_ = 0;
};

} // namespace compresstest
