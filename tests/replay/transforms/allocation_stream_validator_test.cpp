#include "allocation_stream_validator.h"
#include "transform_trace_builder.h"

#include <gtest/gtest.h>

namespace tlsheap::replay {
namespace {

using trace::Record;
using trace::Tag;

Record stack(std::uint32_t id) {
    Record r;
    r.tag = Tag::Stack;
    r.stack = id;
    r.frames = {0x1000};
    return r;
}

Record alloc(std::uint64_t seq, std::uint64_t address, std::uint32_t stack = 1) {
    Record r;
    r.tag = Tag::Alloc;
    r.seq = seq;
    r.count = 1;
    r.size = 16;
    r.address = address;
    r.stack = stack;
    return r;
}

Record free_of(std::uint64_t seq, std::uint64_t alloc_seq, std::uint64_t address) {
    Record r;
    r.tag = Tag::Free;
    r.seq = seq;
    r.alloc_seq = alloc_seq;
    r.address = address;
    r.stack = 1;
    return r;
}

std::string check(std::vector<Record> records) {
    testing::VectorSource source(std::move(records));
    return validate_allocation_stream(source);
}

TEST(AllocationStreamValidator, AcceptsAValidStream) {
    // A failed allocation (NULL) and free(NULL) are events but hold nothing.
    EXPECT_EQ(check({stack(1), alloc(1, 0x10), alloc(2, 0), free_of(3, 0, 0), free_of(4, 1, 0x10),
                     alloc(5, 0x10)}),
              "");
}

TEST(AllocationStreamValidator, ReportsAGapInTheNumbering) {
    EXPECT_EQ(check({stack(1), alloc(1, 0x10), alloc(3, 0x20)}),
              "alloc event 3: expected sequence number 2");
}

TEST(AllocationStreamValidator, ReportsAFreeOfNoLiveAllocation) {
    EXPECT_EQ(check({stack(1), alloc(1, 0x10), free_of(2, 7, 0x10)}),
              "free event 2: frees event 7, which is not a live allocation (never made, failed "
              "or already freed)");
}

TEST(AllocationStreamValidator, ReportsADoubleFree) {
    EXPECT_EQ(check({stack(1), alloc(1, 0x10), free_of(2, 1, 0x10), free_of(3, 1, 0x10)}),
              "free event 3: frees event 1, which is not a live allocation (never made, failed "
              "or already freed)");
}

TEST(AllocationStreamValidator, ReportsAFreeAtAnotherAddress) {
    EXPECT_EQ(check({stack(1), alloc(1, 0x10), free_of(2, 1, 0x20)}),
              "free event 2: frees allocation 1 at address 32 but it is at 16");
}

TEST(AllocationStreamValidator, ReportsALiveAddressHandedOutAgain) {
    EXPECT_EQ(check({stack(1), alloc(1, 0x10), alloc(2, 0x10)}),
              "alloc event 2: address 16 is still held by allocation 1");
}

TEST(AllocationStreamValidator, ReportsAStackUsedBeforeItsRecord) {
    EXPECT_EQ(check({alloc(1, 0x10, 5)}),
              "alloc event 1: stack id 5 has no Stack record before it");
}

} // namespace
} // namespace tlsheap::replay
