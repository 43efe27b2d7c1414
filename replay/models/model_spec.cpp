// ModelSpec: the text of one --model argument, "NAME" or "NAME:key=value,...".
#include "tlsheap/allocator_model.h"

namespace tlsheap::replay {

namespace {

[[noreturn]] void malformed(std::string_view text, std::string_view why) {
    throw ModelError("malformed --model '" + std::string(text) + "': " + std::string(why));
}

} // namespace

ModelSpec ModelSpec::parse(std::string_view text) {
    ModelSpec spec;
    const std::size_t colon = text.find(':');
    spec.name = std::string(text.substr(0, colon));
    if (spec.name.empty())
        malformed(text, "no model name");
    if (colon == std::string_view::npos)
        return spec;

    std::string_view rest = text.substr(colon + 1);
    if (rest.empty())
        malformed(text, "nothing after ':'");
    while (true) {
        const std::size_t comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        const std::size_t equals = item.find('=');
        if (item.empty())
            malformed(text, "empty option");
        if (equals == std::string_view::npos)
            malformed(text, "option '" + std::string(item) + "' has no '='");
        if (equals == 0)
            malformed(text, "option '" + std::string(item) + "' has no name");
        if (equals + 1 == item.size())
            malformed(text, "option '" + std::string(item.substr(0, equals)) + "' has no value");
        spec.options.emplace_back(std::string(item.substr(0, equals)),
                                  std::string(item.substr(equals + 1)));
        if (comma == std::string_view::npos)
            break;
        rest = rest.substr(comma + 1);
    }
    return spec;
}

std::string ModelSpec::to_string() const {
    std::string text = name;
    for (std::size_t i = 0; i < options.size(); ++i) {
        text += i == 0 ? ':' : ',';
        text += options[i].first + "=" + options[i].second;
    }
    return text;
}

} // namespace tlsheap::replay
