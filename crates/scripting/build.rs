//! Builds the vendored, patched Lua 5.1.5 (see lua/PATCHES.md) as a static library.

fn main() {
    const SOURCES: &[&str] = &[
        "lapi", "lauxlib", "lbaselib", "lcode", "ldblib", "ldebug", "ldo", "ldump", "lfunc", "lgc",
        "llex", "lmathlib", "lmem", "lobject", "lopcodes", "loslib", "lparser", "lstate",
        "lstring", "lstrlib", "ltable", "ltablib", "ltm", "lundump", "lvm", "lzio",
    ];
    let mut build = cc::Build::new();
    build
        .include("lua")
        // As Valkey builds it: plain ANSI C, no POSIX extras.
        .define("LUA_ANSI", None)
        .opt_level(2)
        .warnings(false);
    for s in SOURCES {
        build.file(format!("lua/{s}.c"));
    }
    build.compile("redwing_lua51");
    println!("cargo:rerun-if-changed=lua");
    println!("cargo:rerun-if-changed=build.rs");
}
