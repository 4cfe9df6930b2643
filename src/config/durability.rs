//! Whether a config write has to fsync its temporary file before the rename.
//!
//! The promise (SPEC §2) is that a crash leaves the old file or the new one, never a
//! truncated one. A rename over an existing file keeps that promise without an
//! fsync only if the file system writes the new file's data before it commits the
//! rename. ext4 does exactly that in its default modes: with `auto_da_alloc` (on
//! unless mounted `noauto_da_alloc`) and `data=ordered` or `data=journal` (not
//! `data=writeback`), "the data blocks of the new file are forced to disk before
//! the rename() operation is committed" (the kernel's ext4 documentation). On such
//! a mount cnb skips the fsync when it replaces an existing file, as `git config`,
//! `cargo add`, docker and pack always do; the fsync costs 1.5 ms on an idle disk
//! and over 10 ms on a busy one.
//! Everywhere else (XFS, btrfs, overlayfs, network file systems, other systems,
//! a mount that cannot be identified) cnb fsyncs.

use std::fs::File;

/// Whether `file` (a new temporary file, about to be renamed to the config file's
/// name in the same directory) must be fsynced for the rename to keep the promise
/// above. `replacing`: whether a file of that name exists. ext4's guarantee covers
/// only a rename over an existing file, so the first write always fsyncs.
pub(super) fn needs_fsync(file: &File, replacing: bool) -> bool {
    !(replacing && rename_keeps_data(file))
}

#[cfg(target_os = "linux")]
fn rename_keeps_data(file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;

    let Ok(metadata) = file.metadata() else {
        return false;
    };
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let (major, minor) = device_numbers(metadata.dev());
    mount_of(&mountinfo, major, minor).is_some_and(|mount| mount.orders_rename_after_data())
}

#[cfg(not(target_os = "linux"))]
fn rename_keeps_data(_file: &File) -> bool {
    false
}

/// Splits a Linux `dev_t` into its major and minor numbers (glibc's encoding).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn device_numbers(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & 0xffff_f000);
    let minor = (dev & 0xff) | ((dev >> 12) & 0xffff_ff00);
    (major, minor)
}

/// The parts of a `/proc/self/mountinfo` line this module looks at.
#[derive(Debug, PartialEq, Eq)]
struct Mount<'a> {
    fs_type: &'a str,
    super_options: &'a str,
}

impl Mount<'_> {
    /// ext4 in its default modes: see the module documentation.
    fn orders_rename_after_data(&self) -> bool {
        self.fs_type == "ext4"
            && !self
                .super_options
                .split(',')
                .any(|option| option == "noauto_da_alloc" || option == "data=writeback")
    }
}

/// The mount of device `major:minor` in `mountinfo` (the format of
/// `/proc/<pid>/mountinfo`, proc(5)): bind mounts of one device share its file
/// system and super options, so the first line for the device answers.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn mount_of(mountinfo: &str, major: u64, minor: u64) -> Option<Mount<'_>> {
    mountinfo.lines().find_map(|line| {
        // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
        let mut fields = line.split(' ');
        let device = fields.nth(2)?;
        let (line_major, line_minor) = device.split_once(':')?;
        if line_major.parse::<u64>().ok()? != major || line_minor.parse::<u64>().ok()? != minor {
            return None;
        }
        // Optional fields end at a lone "-".
        fields.find(|field| *field == "-")?;
        let fs_type = fields.next()?;
        let _source = fields.next()?;
        let super_options = fields.next().unwrap_or("");
        Some(Mount {
            fs_type,
            super_options,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684096k
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534
28 27 254:0 /srv /srv\\040data rw,relatime shared:1 master:2 - ext4 /dev/vda rw,discard
30 27 8:1 / /data rw,relatime shared:5 - ext4 /dev/sda1 rw,noauto_da_alloc
31 27 8:2 / /fast rw,relatime - ext4 /dev/sda2 rw,data=writeback
32 27 8:3 / /journal rw,relatime - ext4 /dev/sda3 rw,data=journal
33 27 8:4 / /x rw,relatime - xfs /dev/sda4 rw,attr2,inode64
34 27 0:45 / /b rw,relatime - btrfs /dev/sdb rw,space_cache=v2
35 27 0:50 / /var/lib/docker rw - overlay overlay rw,lowerdir=/l,upperdir=/u
";

    fn mount(major: u64, minor: u64) -> Option<Mount<'static>> {
        mount_of(MOUNTINFO, major, minor)
    }

    #[test]
    fn the_mount_is_found_by_device_number() {
        assert_eq!(
            mount(254, 0),
            Some(Mount {
                fs_type: "ext4",
                super_options: "rw,discard,resv_strict,resuid=65534"
            })
        );
        assert_eq!(mount(0, 23).map(|m| m.fs_type), Some("tmpfs"));
        assert_eq!(mount(8, 4).map(|m| m.fs_type), Some("xfs"));
        assert_eq!(mount(9, 9), None);
    }

    #[test]
    fn only_ext4_in_its_ordered_modes_skips_the_fsync() {
        let skips = |major, minor| mount(major, minor).unwrap().orders_rename_after_data();
        assert!(skips(254, 0), "ext4, default options");
        assert!(skips(8, 3), "ext4, data=journal");
        assert!(!skips(8, 1), "ext4, noauto_da_alloc");
        assert!(!skips(8, 2), "ext4, data=writeback");
        assert!(!skips(8, 4), "xfs");
        assert!(!skips(0, 45), "btrfs");
        assert!(!skips(0, 50), "overlay");
        assert!(!skips(0, 23), "tmpfs");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text =
            "garbage\n1 2 x:y / / rw - ext4 a rw\n1 2 8:1 / / rw\n1 2 8:1 / / rw - ext4 a rw\n";
        assert_eq!(
            mount_of(text, 8, 1),
            Some(Mount {
                fs_type: "ext4",
                super_options: "rw"
            })
        );
        assert_eq!(mount_of("", 8, 1), None);
    }

    #[test]
    fn device_numbers_follow_the_glibc_encoding() {
        assert_eq!(device_numbers(0xfe00), (254, 0));
        assert_eq!(device_numbers(0x0801), (8, 1));
        // Large numbers use the high bits: makedev(0x1234, 0x56789).
        let dev = (0x1234u64 & 0xfff) << 8
            | (0x1234u64 & !0xfff) << 32
            | (0x56789u64 & 0xff)
            | (0x56789u64 & !0xff) << 12;
        assert_eq!(device_numbers(dev), (0x1234, 0x56789));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_mount_of_a_real_file_is_found() {
        use std::os::unix::fs::MetadataExt;
        let file = tempfile::tempfile().unwrap();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let (major, minor) = device_numbers(file.metadata().unwrap().dev());
        let mount = mount_of(&mountinfo, major, minor);
        assert!(
            mount.is_some(),
            "no mount for {major}:{minor} in:\n{mountinfo}"
        );
        assert_eq!(
            needs_fsync(&file, true),
            !mount.unwrap().orders_rename_after_data()
        );
        assert!(needs_fsync(&file, false), "a new file is always fsynced");
    }
}
