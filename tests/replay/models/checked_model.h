// Test helper: a model built from a --model string whose every event is
// followed by verify(), so a broken invariant fails the test at the event
// that broke it.
#pragma once

#include "allocation_script.h"
#include "tlsheap/allocator_model.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <string>

namespace tlsheap::replay::testing {

// Plays a script on a model, verifying the heap after every event; the
// offset of every allocation (nullopt where the model failed it).
inline std::vector<std::optional<std::uint64_t>> replay(AllocatorModel& model,
                                                        const std::vector<ScriptEvent>& script) {
    return play(
        script, [&](std::uint64_t size) { return model.allocate(size); },
        [&](std::uint64_t offset) { model.release(offset); },
        [&] { ASSERT_EQ(model.verify(), ""); });
}

class CheckedModel {
  public:
    explicit CheckedModel(const std::string& spec, unsigned pointer_size = 4,
                          std::optional<std::uint64_t> pool_size = std::nullopt)
        : model_(make_model(ModelSpec::parse(spec), ModelContext{pointer_size, pool_size})) {
        check("construction");
    }

    std::optional<std::uint64_t> allocate(std::uint64_t size) {
        const std::optional<std::uint64_t> offset = model_->allocate(size);
        check("allocate(" + std::to_string(size) + ")");
        return offset;
    }

    // An allocation the test expects to succeed.
    std::uint64_t take(std::uint64_t size) {
        const std::optional<std::uint64_t> offset = allocate(size);
        EXPECT_TRUE(offset.has_value()) << "allocate(" << size << ") failed, event " << events_;
        return offset.value_or(UINT64_MAX);
    }

    void release(std::uint64_t offset) {
        model_->release(offset);
        check("release(" + std::to_string(offset) + ")");
    }

    AllocatorModel* operator->() { return model_.get(); }
    AllocatorModel& operator*() { return *model_; }

    std::uint64_t statistic(const std::string& name) const {
        for (const auto& [key, value] : model_->statistics())
            if (key == name)
                return value;
        ADD_FAILURE() << "no statistic " << name;
        return 0;
    }

  private:
    void check(const std::string& event) {
        ++events_;
        const std::string problem = model_->verify();
        EXPECT_EQ(problem, "") << "after event " << events_ << ": " << event;
    }

    std::unique_ptr<AllocatorModel> model_;
    unsigned events_ = 0;
};

} // namespace tlsheap::replay::testing
