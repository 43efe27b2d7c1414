#include "variants/variant_package.h"

#include "process/child_process.h"
#include "variants/build_error.h"
#include "variants/config_file.h"

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <map>

namespace tlsheap::build {

namespace fs = std::filesystem;

namespace {

// Marks a directory as an export, so that exporting again may replace it.
constexpr char kExportMarker[] = ".tlsheap-export";
constexpr char kPackageName[] = "tlsheap-mbedtls";

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) {
        throw BuildError("cannot write " + path.string());
    }
}

std::string joined(const std::vector<std::string>& words) {
    return fmt::format("{}", fmt::join(words, " "));
}

// The archiver of the compiler's binutils: "arm-linux-gnueabihf-gcc" ->
// "arm-linux-gnueabihf-ar", "gcc" -> "ar".
std::string archiver_for(const std::string& cc) {
    const std::string suffix = "gcc";
    if (cc.size() >= suffix.size() &&
        cc.compare(cc.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return cc.substr(0, cc.size() - suffix.size()) + "ar";
    }
    return "ar";
}

void archive(const Toolchain& toolchain, const fs::path& library,
             const std::vector<fs::path>& objects) {
    std::vector<std::string> argv = {archiver_for(toolchain.cc), "rcsD", library.string()};
    for (const fs::path& o : objects) {
        argv.push_back(o.string());
    }
    const auto r = process::run_command(argv, std::chrono::minutes(2));
    if (r.status != 0) {
        throw BuildError("cannot write " + library.string() + ": " +
                         r.err.substr(0, r.err.find('\n')));
    }
}

// Empties `dir` if it holds an earlier export; refuses anything else.
void prepare_directory(const fs::path& dir) {
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
        throw BuildError("export directory " + dir.string() + " is not a directory");
    }
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
        if (!fs::exists(dir / kExportMarker)) {
            throw BuildError("export directory " + dir.string() +
                             " is not empty and holds no earlier tlsheap export; not overwritten");
        }
        for (const char* part : {"include", "lib"}) {
            fs::remove_all(dir / part);
        }
    }
    fs::create_directories(dir / "lib" / "pkgconfig", ec);
    fs::create_directories(dir / "lib" / "cmake" / kPackageName, ec);
    if (ec) {
        throw BuildError("cannot create export directory " + dir.string() + ": " + ec.message());
    }
    write_text(dir / kExportMarker, "tlsheap build --export\n");
}

struct LinkFacts {
    std::vector<std::string> compile_flags; // ABI and stack capture
    std::vector<std::string> link_flags;    // ABI, sanitizers, the recording's options
    std::vector<std::string> system_libraries;
};

LinkFacts link_facts(const PreparedVariant& p) {
    LinkFacts f;
    f.compile_flags = p.toolchain.arch_flags;
    f.compile_flags.insert(f.compile_flags.end(), p.toolchain.codegen_flags.begin(),
                           p.toolchain.codegen_flags.end());
    // Sanitizer builds (TLSHEAP_VARIANT_FLAGS): the program must be one too.
    f.compile_flags.insert(f.compile_flags.end(), p.spec.extra_flags.begin(),
                           p.spec.extra_flags.end());
    f.link_flags = p.toolchain.arch_flags;
    f.link_flags.insert(f.link_flags.end(), p.spec.extra_flags.begin(), p.spec.extra_flags.end());
    const std::vector<std::string> recording = program_link_options();
    f.link_flags.insert(f.link_flags.end(), recording.begin(), recording.end());
    f.system_libraries = {"-lstdc++"};
    f.system_libraries.insert(f.system_libraries.end(), p.toolchain.link_libraries.begin(),
                              p.toolchain.link_libraries.end());
    return f;
}

// The libraries in link order: the recording first (it calls into all
// three), in a group because mbedTLS's objects call back into it.
const std::vector<std::string> kLibraries = {"tlsheap_record", "mbedtls", "mbedx509", "mbedcrypto"};

// The comment both files open with: what was built, from what.
std::string package_comment(const PreparedVariant& p) {
    return fmt::format("# Written by tlsheap build --export: mbedTLS {} built with config\n"
                       "# {} ({} ABI), and tlsheap's recording library.\n",
                       p.spec.tree.version, p.config_label, p.spec.abi);
}

std::string pkg_config_text(const PreparedVariant& p, const LinkFacts& f) {
    std::string libs = "-L${libdir} " + joined(f.link_flags) + " -Wl,--start-group";
    for (const std::string& l : kLibraries) {
        libs += " -l" + l;
    }
    libs += " -Wl,--end-group " + joined(f.system_libraries);
    return package_comment(p) +
           fmt::format("prefix=${{pcfiledir}}/../..\n"
                       "includedir=${{prefix}}/include\n"
                       "libdir=${{prefix}}/lib\n\n"
                       "Name: {name}\n"
                       "Description: mbedTLS {version} variant {key} recorded by tlsheap\n"
                       "Version: {version}\n"
                       "Cflags: -I${{includedir}} {cflags}\n"
                       "Libs: {libs}\n",
                       fmt::arg("version", p.spec.tree.version), fmt::arg("name", kPackageName),
                       fmt::arg("key", p.library_key.substr(0, 20)),
                       fmt::arg("cflags", joined(f.compile_flags)), fmt::arg("libs", libs));
}

std::string cmake_list(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) {
        out += (out.empty() ? "" : ";") + item;
    }
    return out;
}

std::string cmake_config_text(const PreparedVariant& p, const LinkFacts& f) {
    std::vector<std::string> libraries = {"-Wl,--start-group"};
    for (const std::string& l : kLibraries) {
        libraries.push_back("${_tlsheap_prefix}/lib/lib" + l + ".a");
    }
    libraries.push_back("-Wl,--end-group");
    for (const std::string& l : f.system_libraries) {
        libraries.push_back(l);
    }
    return package_comment(p) +
           fmt::format(
               "#   find_package({name} REQUIRED CONFIG)   # with CMAKE_PREFIX_PATH=<export dir>\n"
               "#   target_link_libraries(my_app PRIVATE tlsheap::mbedtls)\n"
               "get_filename_component(_tlsheap_prefix \"${{CMAKE_CURRENT_LIST_DIR}}/../../..\" "
               "ABSOLUTE)\n"
               "set({name}_VERSION \"{version}\")\n"
               "if(NOT TARGET tlsheap::mbedtls)\n"
               "  add_library(tlsheap::mbedtls INTERFACE IMPORTED)\n"
               "  set_target_properties(tlsheap::mbedtls PROPERTIES\n"
               "    INTERFACE_INCLUDE_DIRECTORIES \"${{_tlsheap_prefix}}/include\"\n"
               "    INTERFACE_COMPILE_OPTIONS \"{cflags}\"\n"
               "    INTERFACE_LINK_OPTIONS \"{ldflags}\"\n"
               "    INTERFACE_LINK_LIBRARIES \"{libs}\")\n"
               "endif()\n",
               fmt::arg("version", p.spec.tree.version), fmt::arg("name", kPackageName),
               fmt::arg("cflags", cmake_list(f.compile_flags)),
               fmt::arg("ldflags", cmake_list(f.link_flags)),
               fmt::arg("libs", cmake_list(libraries)));
}

} // namespace

std::string mbedtls_library_of(const std::string& stem) {
    const auto starts = [&](const char* prefix) { return stem.rfind(prefix, 0) == 0; };
    if (starts("ssl_") || starts("mps_") || stem == "debug" || stem == "net_sockets") {
        return "mbedtls";
    }
    if (starts("x509") || stem == "pkcs7") {
        return "mbedx509";
    }
    return "mbedcrypto";
}

VariantPackage write_variant_package(const PreparedVariant& p, const ProgramShim& shim,
                                     const fs::path& dir) {
    VariantPackage package;
    package.dir = fs::absolute(dir);
    prepare_directory(package.dir);

    // Headers: the tree's, with the effective config as its default config
    // header, so that the program sees the variant's config without a macro.
    const fs::path include = package.dir / "include";
    std::error_code ec;
    fs::copy(p.spec.tree.include_dir(), include, fs::copy_options::recursive, ec);
    if (ec) {
        throw BuildError("cannot copy the headers into " + include.string() + ": " + ec.message());
    }
    const fs::path config_header =
        include / fs::relative(p.spec.tree.default_config, p.spec.tree.include_dir());
    fs::permissions(config_header, fs::perms::owner_write, fs::perm_options::add, ec);
    write_text(config_header, p.effective_text);

    // Libraries.
    std::map<std::string, std::vector<fs::path>> members;
    for (const auto& entry : fs::directory_iterator(p.library_dir / "obj")) {
        if (entry.path().extension() != ".o") {
            continue;
        }
        // Objects are named "<folder>__<source>.o" (variant_builder.cpp).
        const std::string stem = entry.path().stem().string();
        const auto sep = stem.find("__");
        members[mbedtls_library_of(sep == std::string::npos ? stem : stem.substr(sep + 2))]
            .push_back(entry.path());
    }
    members["tlsheap_record"] = shim.objects;
    for (const std::string& name : kLibraries) {
        std::vector<fs::path>& objects = members[name];
        std::sort(objects.begin(), objects.end());
        const fs::path library = package.dir / "lib" / ("lib" + name + ".a");
        archive(p.toolchain, library, objects);
        package.libraries.push_back(library);
    }

    const LinkFacts facts = link_facts(p);
    package.pkg_config_file =
        package.dir / "lib" / "pkgconfig" / (std::string(kPackageName) + ".pc");
    write_text(package.pkg_config_file, pkg_config_text(p, facts));
    package.cmake_config_file = package.dir / "lib" / "cmake" / kPackageName /
                                (std::string(kPackageName) + "-config.cmake");
    write_text(package.cmake_config_file, cmake_config_text(p, facts));
    return package;
}

} // namespace tlsheap::build
