/* A program that makes a given number of heap events for heaptrack to
 * record, so that heaptrack_print can be timed on a data file of the same
 * event count as a tlsheap trace (scripts/bench-replay-vs-heaptrack.sh):
 * ceil(EVENTS / 2) mallocs and as many frees. Sizes cycle through
 * handshake-like figures; 64 blocks are alive at once, as a handshake holds
 * a few dozen.
 *
 *   malloc_free_pairs EVENTS
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s EVENTS\n", argv[0]);
        return 2;
    }
    const long allocations = (atol(argv[1]) + 1) / 2;
    void* alive[64] = {0};
    for (long i = 0; i < allocations; ++i) {
        void** slot = &alive[i % 64];
        if (*slot != NULL) {
            free(*slot);
        }
        *slot = malloc(16 + (size_t)(i % 61) * 24);
    }
    for (int i = 0; i < 64; ++i) {
        if (alive[i] != NULL) {
            free(alive[i]);
        }
    }
    return 0;
}
