/* mbedTLS configuration for the differential test of the mbedtls-pool model:
 * only the buffer allocator, with the debug counters it reports through
 * mbedtls_memory_buffer_alloc_max_get(). The build adds
 * MBEDTLS_MEMORY_ALIGN_MULTIPLE and MBEDTLS_MEMORY_BACKTRACE per variant. */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
#define MBEDTLS_MEMORY_DEBUG
