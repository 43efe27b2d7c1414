// The free blocks of a model, ordered by a key the model chooses, each with
// its size, in a treap that keeps the largest size and the total of every
// subtree: the searches of FreeBlockIndex in O(log n), for when a model has
// too many free blocks to walk them (see free_block_index.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace tlsheap::replay {

class FreeBlockTreap {
  public:
    static constexpr std::uint32_t npos = UINT32_MAX;

    struct Entry {
        std::uint64_t key;
        std::uint32_t slot; // the model's block
        std::uint64_t size;
    };

    // `key` must not be present.
    void insert(std::uint64_t key, std::uint32_t slot, std::uint64_t size) {
        const std::uint32_t node = new_node(key, slot, size);
        std::uint32_t left = npos, right = npos;
        split(root_, key, left, right);
        root_ = join(join(left, node), right);
        ++count_;
    }

    // `key` must be present.
    void erase(std::uint64_t key) {
        std::uint32_t left = npos, middle = npos, right = npos;
        split(root_, key, left, right);
        split_first(right, middle, right);
        unused_.push_back(middle);
        root_ = join(left, right);
        --count_;
    }

    // The entry at `key` (present) now stands for `slot` with `size`.
    void update(std::uint64_t key, std::uint32_t slot, std::uint64_t size) {
        std::uint32_t path[kMaxDepth];
        unsigned depth = 0;
        std::uint32_t node = root_;
        while (nodes_[node].key != key) {
            ++visits_;
            path[depth++] = node;
            node = key < nodes_[node].key ? nodes_[node].left : nodes_[node].right;
        }
        nodes_[node].slot = slot;
        nodes_[node].size = size;
        pull(node);
        while (depth > 0)
            pull(path[--depth]);
    }

    // The entry with the smallest key whose size is at least `size`, or none.
    std::optional<Entry> first_at_least(std::uint64_t size) const {
        std::uint32_t node = root_;
        if (node == npos || nodes_[node].max_size < size)
            return std::nullopt;
        for (;;) {
            ++visits_;
            const Node& n = nodes_[node];
            if (n.left != npos && nodes_[n.left].max_size >= size)
                node = n.left;
            else if (n.size >= size)
                return n.entry();
            else
                node = n.right;
        }
    }

    // The entry with the smallest key not below `key`, or none.
    std::optional<Entry> first_from(std::uint64_t key) const {
        std::optional<Entry> found;
        for (std::uint32_t node = root_; node != npos;) {
            ++visits_;
            const Node& n = nodes_[node];
            if (n.key >= key) {
                found = n.entry();
                node = n.left;
            } else {
                node = n.right;
            }
        }
        return found;
    }

    // The entry with the largest key below `key`, or none.
    std::optional<Entry> last_before(std::uint64_t key) const {
        std::optional<Entry> found;
        for (std::uint32_t node = root_; node != npos;) {
            ++visits_;
            const Node& n = nodes_[node];
            if (n.key < key) {
                found = n.entry();
                node = n.right;
            } else {
                node = n.left;
            }
        }
        return found;
    }

    // The largest size among the entries other than the one at `key`.
    std::uint64_t largest_except(std::uint64_t key) const {
        std::uint64_t largest = 0;
        for (std::uint32_t node = root_; node != npos;) {
            ++visits_;
            const Node& n = nodes_[node];
            if (n.key == key) {
                largest = std::max({largest, max_of(n.left), max_of(n.right)});
                break;
            }
            if (key < n.key) {
                largest = std::max({largest, n.size, max_of(n.right)});
                node = n.left;
            } else {
                largest = std::max({largest, n.size, max_of(n.left)});
                node = n.right;
            }
        }
        return largest;
    }

    std::uint64_t largest() const { return max_of(root_); }
    std::uint64_t total() const { return root_ == npos ? 0 : nodes_[root_].total; }
    std::size_t size() const { return count_; }

    // Tree nodes looked at by the searches above: a test's measure of work.
    std::uint64_t visits() const { return visits_; }

    // Empty again; the visits so far stay counted.
    void clear() {
        nodes_.clear();
        unused_.clear();
        root_ = npos;
        count_ = 0;
    }

    template <class Visit>
    void for_each(Visit visit) const {
        for_each_in(root_, visit);
    }

  private:
    // A treap's depth stays within a small multiple of log2(n); this bounds
    // the path update() keeps for any n that fits in memory.
    static constexpr unsigned kMaxDepth = 256;

    struct Node {
        std::uint64_t key;
        std::uint32_t slot;
        std::uint64_t size;
        std::uint32_t priority;
        std::uint32_t left;
        std::uint32_t right;
        std::uint64_t max_size; // of the subtree
        std::uint64_t total;    // of the subtree's sizes
        Entry entry() const { return Entry{key, slot, size}; }
    };

    std::uint64_t max_of(std::uint32_t node) const {
        return node == npos ? 0 : nodes_[node].max_size;
    }
    std::uint64_t total_of(std::uint32_t node) const {
        return node == npos ? 0 : nodes_[node].total;
    }
    void pull(std::uint32_t node) {
        Node& n = nodes_[node];
        n.max_size = std::max({n.size, max_of(n.left), max_of(n.right)});
        n.total = n.size + total_of(n.left) + total_of(n.right);
    }

    std::uint32_t new_node(std::uint64_t key, std::uint32_t slot, std::uint64_t size) {
        // xorshift32: priorities need only look random, and be reproducible.
        seed_ ^= seed_ << 13;
        seed_ ^= seed_ >> 17;
        seed_ ^= seed_ << 5;
        const Node node{key, slot, size, seed_, npos, npos, size, size};
        if (!unused_.empty()) {
            const std::uint32_t id = unused_.back();
            unused_.pop_back();
            nodes_[id] = node;
            return id;
        }
        nodes_.push_back(node);
        return static_cast<std::uint32_t>(nodes_.size() - 1);
    }

    // Keys below `key` to `left`, the rest to `right`.
    void split(std::uint32_t node, std::uint64_t key, std::uint32_t& left, std::uint32_t& right) {
        if (node == npos) {
            left = right = npos;
            return;
        }
        ++visits_;
        if (nodes_[node].key < key) {
            split(nodes_[node].right, key, nodes_[node].right, right);
            left = node;
        } else {
            split(nodes_[node].left, key, left, nodes_[node].left);
            right = node;
        }
        pull(node);
    }

    // The smallest key's node to `first`, the rest to `rest`.
    void split_first(std::uint32_t node, std::uint32_t& first, std::uint32_t& rest) {
        ++visits_;
        if (nodes_[node].left == npos) {
            first = node;
            rest = nodes_[node].right;
            nodes_[node].right = npos;
            pull(node);
            return;
        }
        split_first(nodes_[node].left, first, nodes_[node].left);
        rest = node;
        pull(node);
    }

    // Every key in `left` is below every key in `right`.
    std::uint32_t join(std::uint32_t left, std::uint32_t right) {
        if (left == npos)
            return right;
        if (right == npos)
            return left;
        ++visits_;
        if (nodes_[left].priority > nodes_[right].priority) {
            nodes_[left].right = join(nodes_[left].right, right);
            pull(left);
            return left;
        }
        nodes_[right].left = join(left, nodes_[right].left);
        pull(right);
        return right;
    }

    template <class Visit>
    void for_each_in(std::uint32_t node, Visit& visit) const {
        if (node == npos)
            return;
        for_each_in(nodes_[node].left, visit);
        visit(nodes_[node].entry());
        for_each_in(nodes_[node].right, visit);
    }

    std::vector<Node> nodes_;
    std::vector<std::uint32_t> unused_;
    std::uint32_t root_ = npos;
    std::size_t count_ = 0;
    std::uint32_t seed_ = 2463534242u;
    mutable std::uint64_t visits_ = 0;
};

} // namespace tlsheap::replay
