// A stateless allocator that recycles small blocks through a per-thread cache, so that the
// header fields Beast allocates for every request come from memory the previous request on
// this thread gave back: a keep-alive request costs no call into the heap.
#pragma once

#include <array>
#include <cstddef>
#include <new>

namespace compresstest {

namespace pool_detail {

inline constexpr std::size_t granule_nbytes = 64;   // block sizes: 64, 128, ... 1024 bytes
inline constexpr std::size_t class_count = 16;      // larger blocks go to the heap directly
inline constexpr std::size_t blocks_per_class = 64; // cached per thread and size class

struct free_block {
    free_block* next;
};

// Set once this thread's cache is destroyed; a bool has no destructor, so it outlives it.
inline thread_local bool cache_gone = false;

// One thread's cached blocks; they go back to the heap when the thread ends.
class thread_cache {
public:
    thread_cache() = default;
    thread_cache(const thread_cache&) = delete;
    thread_cache& operator=(const thread_cache&) = delete;
    ~thread_cache() {
        for (std::size_t c = 0; c < class_count; ++c)
            while (free_block* b = heads_[c]) {
                heads_[c] = b->next;
                ::operator delete(b);
            }
        cache_gone = true;
    }

    void* allocate(std::size_t size_class) {
        if (free_block* b = heads_[size_class]) {
            heads_[size_class] = b->next;
            --counts_[size_class];
            return b;
        }
        return ::operator new((size_class + 1) * granule_nbytes);
    }

    void deallocate(void* p, std::size_t size_class) noexcept {
        if (counts_[size_class] == blocks_per_class) return ::operator delete(p);
        heads_[size_class] = new (p) free_block{heads_[size_class]};
        ++counts_[size_class];
    }

private:
    std::array<free_block*, class_count> heads_{};
    std::array<std::size_t, class_count> counts_{};
};

// This thread's cache, or null while the thread is ending (its cache already destroyed).
inline thread_cache* cache() {
    if (cache_gone) return nullptr;
    thread_local thread_cache c;
    return &c;
}

inline std::size_t size_class(std::size_t nbytes) {
    return nbytes == 0 ? 0 : (nbytes - 1) / granule_nbytes;
}

// The cache that serves SIZE_CLASS on this thread, or null: too big, or the thread is ending.
inline thread_cache* cache_for(std::size_t size_class) {
    return size_class < class_count ? cache() : nullptr;
}

// What a block of NBYTES takes from the heap: its whole size class when it has one, so a block
// allocated while a thread's cache is gone can still join a cache when freed elsewhere.
inline std::size_t block_nbytes(std::size_t nbytes) {
    const std::size_t c = size_class(nbytes);
    return c < class_count ? (c + 1) * granule_nbytes : nbytes;
}

} // namespace pool_detail

// Blocks may be freed on another thread than the one that allocated them (a request handed to
// the compute pool): they join that thread's cache, which is bounded, or go back to the heap.
template <class T> struct pooled_allocator {
    using value_type = T;

    pooled_allocator() noexcept = default;
    template <class U> pooled_allocator(const pooled_allocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
        if (n > std::size_t(-1) / sizeof(T)) throw std::bad_array_new_length();
        const std::size_t c = pool_detail::size_class(n * sizeof(T));
        pool_detail::thread_cache* cache = pool_detail::cache_for(c);
        return static_cast<T*>(cache ? cache->allocate(c)
                                     : ::operator new(pool_detail::block_nbytes(n * sizeof(T))));
    }

    void deallocate(T* p, std::size_t n) noexcept {
        const std::size_t c = pool_detail::size_class(n * sizeof(T));
        pool_detail::thread_cache* cache = pool_detail::cache_for(c);
        if (cache)
            cache->deallocate(p, c);
        else
            ::operator delete(p);
    }

    template <class U> bool operator==(const pooled_allocator<U>&) const noexcept { return true; }
};

} // namespace compresstest
