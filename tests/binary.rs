//! Properties of the built executable itself.

/// The shared libraries the executable names (DT_NEEDED).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn needed_libraries() -> Vec<String> {
    use object::elf;
    use object::read::elf::FileHeader;

    let path = env!("CARGO_BIN_EXE_cnb");
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let header = elf::FileHeader64::<object::Endianness>::parse(&*data).expect("an ELF file");
    let endian = header.endian().expect("a known byte order");
    let sections = header.sections(endian, &*data).expect("a section table");
    let dynamic = sections
        .dynamic_table(endian, &*data)
        .expect("a readable .dynamic");
    dynamic
        .iter()
        .filter(|entry| entry.tag == elf::DT_NEEDED)
        .map(|entry| {
            let name = dynamic.string(entry).expect("a library name");
            String::from_utf8_lossy(name).into_owned()
        })
        .collect()
}

/// `src/main.rs` defines `pow` so that start-up does not load the math library
/// (about 0.1 ms and 10 page faults on every command). A dependency that starts
/// using another libm function brings it back; this test says so.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_executable_does_not_load_the_math_library() {
    let needed = needed_libraries();
    assert!(
        needed.iter().any(|lib| lib.starts_with("libc.so")),
        "expected libc among {needed:?}"
    );
    assert!(
        !needed.iter().any(|lib| lib.starts_with("libm.so")),
        "cnb links {needed:?}: some code now calls a libm function other than pow \
         (see `nm -D --undefined-only target/release/cnb`); define it in src/main.rs \
         as `pow` is, or accept the start-up cost and drop this test"
    );
}
