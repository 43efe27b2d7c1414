// `tlsheap capacity`: the most concurrent connections that fit in a heap of
// fixed size, per allocator model, found by replaying streams of k
// connections on that heap (a model fails at its first failed allocation;
// CapacitySearch picks the k) rather than by dividing the heap by a
// per-connection cost.
// The streams are either recordings made with --connections k (the
// pipeline records them) or one recording of N concurrent connections
// restricted to its first k (ConnectionSubsetSource).
#pragma once

#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tlsheap::analysis {

// Where a model's first allocation failed, in the report's words.
struct CapacityFailure {
    std::uint64_t seq = 0;
    std::uint64_t size = 0;
    std::uint32_t connection = 0; // whose code asked
    std::string phase;
    std::string state;
    std::string call_site;
    std::uint64_t failure_count = 0; // allocations that failed in that replay
};

struct ModelCapacity {
    std::string name;
    std::string description;
    // The most connections that fit: every k <= capacity ran without a
    // failed allocation. 0 when even one connection does not fit.
    std::uint32_t capacity = 0;
    // The footprint of the replay with `capacity` connections (none for 0).
    std::optional<std::uint64_t> footprint;
    // The replay with capacity + 1 connections: its first failed allocation.
    // None when every stream tried fit (the answer is "at least").
    std::optional<CapacityFailure> fails_next;
};

// One stream replayed on the heap.
struct CapacityStep {
    std::uint32_t connections = 0;
    std::uint64_t live_peak = 0;
    std::vector<std::uint64_t> footprint; // per model
    std::vector<std::uint64_t> failures;  // per model: failed allocations
};

struct CapacityResult {
    std::uint64_t heap = 0;
    std::vector<ModelCapacity> models;
    std::vector<CapacityStep> steps; // by connections, ascending
    // Connections of the largest stream replayed.
    std::uint32_t most_tried = 0;
};

// Chooses the streams to replay and reads the answers from them. k = 1, 2,
// ..., kLinearUpTo one after the other (every k of a small heap is seen);
// above that, doubling until every model failed or `most` is reached, then
// bisection between each model's largest k that fits and smallest k that
// fails. A heap that holds a hundred connections then needs about 20 streams
// instead of a hundred. Every answer C still rests on replays: C fits (every
// k tried up to C fits) and C + 1 fails; a k above kLinearUpTo that was not
// tried is taken to behave as its neighbours do.
class CapacitySearch {
  public:
    static constexpr std::uint32_t kLinearUpTo = 8;

    CapacitySearch(std::uint64_t heap, std::uint32_t most) : heap_(heap), most_(most) {}
    // The next stream to replay, or nothing once every model is answered.
    std::optional<std::uint32_t> next() const;
    // `replay` is the stream with `connections` connections replayed with
    // ReplayOptions::pool_size = heap.
    void add(std::uint32_t connections, const replay::ReplayResult& replay);
    CapacityResult result() const;

  private:
    struct Tried {
        CapacityStep step;
        std::vector<std::optional<CapacityFailure>> failure; // per model
    };
    // For model i: the largest tried k such that every tried k' <= k fits
    // (0: none), and the smallest tried k that fails (0: none).
    std::pair<std::uint32_t, std::uint32_t> bounds(std::size_t model) const;

    std::uint64_t heap_;
    std::uint32_t most_;
    std::vector<std::pair<std::string, std::string>> models_; // name, description
    std::map<std::uint32_t, Tried> tried_;
};

// The replay options every capacity replay uses: the models, the heap as the
// pool, no time series.
replay::ReplayOptions capacity_replay_options(const std::vector<replay::ModelSpec>& models,
                                              std::uint64_t heap);

// Thrown for a trace that cannot answer: one connection, or connections
// that never held memory together (reconnects). One line.
class CapacityInputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// From one recording of N concurrent connections: its first k connections,
// for the k CapacitySearch picks up to N. Throws CapacityInputError,
// trace::TraceError, ModelError.
CapacityResult capacity_of_trace(const replay::SourceFactory& open,
                                 const std::vector<replay::ModelSpec>& models, std::uint64_t heap);

} // namespace tlsheap::analysis
