//! Code packages: content-addressed zip files and the directories they unpack to.
//!
//! A package is stored once per content as `<dir>/<sha256 hex>.zip`, synced before the
//! function record that names it is written, and unpacked to `<dir>/<sha256 hex>/` (unpacked
//! into a temporary directory first, then renamed, so a half-unpacked package is never used).
//! Unix permissions in the archive are kept, so a `bootstrap` stays executable.
//!
//! Unpacking is bounded as on Lambda: at most [`MAX_UNZIPPED_BYTES`] of content, counted from
//! the bytes actually inflated (not from sizes the archive claims), so a small zip bomb stops
//! at the limit instead of filling the disk. Entries whose names would leave the package
//! directory (`../x`, absolute paths) are refused. [`CodeStore::retain`] removes the packages no
//! function or version refers to any more.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The most content a package may unpack to, as on Lambda (250 MB including layers).
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;

/// The most entries a package may hold; every one is a file or directory on disk.
const MAX_ENTRIES: usize = 100_000;

/// The identity of a stored package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageInfo {
    /// Hex SHA-256: the file and directory name.
    pub code_id: String,
    /// Base64 SHA-256, as Lambda reports `CodeSha256`.
    pub sha256_base64: String,
    /// Size of the zip in bytes.
    pub size: u64,
}

/// Why a package cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The bytes are not a zip archive wharf can unpack.
    #[error("invalid zip file: {0}")]
    InvalidZip(String),
    /// The archive unpacks to more than [`MAX_UNZIPPED_BYTES`].
    #[error("Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")]
    TooLarge,
    /// Writing to disk failed.
    #[error("storing code: {0}")]
    Io(#[from] std::io::Error),
}

/// The package directory of the data directory.
pub struct CodeStore {
    dir: PathBuf,
    /// Packages stored for a create or update whose record is not written yet, with how many
    /// such writes hold each: [`CodeStore::retain`] must not remove them meanwhile.
    pins: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

/// Keeps a package from removal until dropped (after the record naming it is stored).
pub struct PackagePin {
    pins: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    code_id: String,
}

impl Drop for PackagePin {
    fn drop(&mut self) {
        let mut pins = self.pins.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = pins.get_mut(&self.code_id) {
            *count -= 1;
            if *count == 0 {
                pins.remove(&self.code_id);
            }
        }
    }
}

impl CodeStore {
    /// Uses (creating) `dir`.
    pub fn open(dir: PathBuf) -> std::io::Result<CodeStore> {
        std::fs::create_dir_all(&dir)?;
        Ok(CodeStore { dir, pins: Default::default() })
    }

    /// Stores and unpacks a zip; storing the same content twice is a no-op.
    pub fn put(&self, zip_bytes: &[u8]) -> Result<PackageInfo, PackageError> {
        self.put_pinned(zip_bytes).map(|(info, _pin)| info)
    }

    /// [`CodeStore::put`], keeping the package from removal until the pin drops.
    pub fn put_pinned(&self, zip_bytes: &[u8]) -> Result<(PackageInfo, PackagePin), PackageError> {
        let digest = Sha256::digest(zip_bytes);
        let info = PackageInfo {
            code_id: hex::encode(digest),
            sha256_base64: base64::engine::general_purpose::STANDARD.encode(digest),
            size: zip_bytes.len() as u64,
        };
        *self.pins.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).entry(info.code_id.clone()).or_default() +=
            1;
        let pin = PackagePin { pins: std::sync::Arc::clone(&self.pins), code_id: info.code_id.clone() };
        self.store(zip_bytes, info).map(|info| (info, pin))
    }

    fn store(&self, zip_bytes: &[u8], info: PackageInfo) -> Result<PackageInfo, PackageError> {
        let unpacked = self.package_dir(&info.code_id);
        if unpacked.is_dir() {
            return Ok(info);
        }
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
            .map_err(|err| PackageError::InvalidZip(err.to_string()))?;
        let staging = self.dir.join(format!(".unpack-{}-{}", info.code_id, uuid::Uuid::new_v4().simple()));
        if let Err(err) = unpack(&mut archive, &staging) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(err);
        }
        let zip_path = self.dir.join(format!("{}.zip", info.code_id));
        if !zip_path.exists() {
            let temporary = self.dir.join(format!(".{}.zip.tmp", info.code_id));
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(zip_bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &zip_path)?;
        }
        if let Err(err) = std::fs::rename(&staging, &unpacked) {
            let _ = std::fs::remove_dir_all(&staging);
            if !unpacked.is_dir() {
                return Err(err.into());
            }
        }
        sync_dir(&self.dir)?;
        Ok(info)
    }

    /// The zip bytes of a stored package.
    pub fn zip(&self, code_id: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.dir.join(format!("{code_id}.zip")))
    }

    /// Where a package is unpacked.
    pub fn package_dir(&self, code_id: &str) -> PathBuf {
        self.dir.join(code_id)
    }

    /// Removes every stored package (zip and unpacked directory) whose id is not in `keep`, and
    /// leftovers of interrupted unpacks; returns how many packages it removed. Ids that
    /// directories used in place have (`dir-…`) own nothing here and are ignored.
    ///
    /// Pinned packages ([`CodeStore::put_pinned`]) stay: a package is stored before the record
    /// that names it. Call it with the registry's write lock held, so `keep` is current.
    pub fn retain(&self, keep: &std::collections::BTreeSet<String>) -> std::io::Result<usize> {
        let pins = self.pins.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let keep = |id: &str| keep.contains(id) || pins.contains_key(id);
        let is_package = |id: &str| id.len() == 64 && id.bytes().all(|byte| byte.is_ascii_hexdigit());
        let staging_of = |rest: &str| rest.get(..64).is_some_and(|id| !keep(id));
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.strip_prefix(".unpack-").is_some_and(staging_of)
                || name.strip_prefix('.').is_some_and(|rest| rest.ends_with(".zip.tmp") && staging_of(rest))
            {
                let _ = remove_any(&path);
            } else if let Some(id) = name.strip_suffix(".zip").filter(|id| is_package(id)) {
                if !keep(id) {
                    remove_any(&path)?;
                    removed += 1;
                }
            } else if is_package(&name) && !keep(&name) {
                remove_any(&path)?;
            }
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }

    /// Unpacks a package again from its zip if its directory is missing (removed by hand).
    pub fn ensure_unpacked(&self, code_id: &str) -> Result<PathBuf, PackageError> {
        let dir = self.package_dir(code_id);
        if !dir.is_dir() {
            let bytes = self.zip(code_id)?;
            self.put(&bytes)?;
        }
        Ok(dir)
    }
}

/// Unpacks `archive` into `target`, refusing escaping names and stopping at the size limit.
fn unpack(archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, target: &Path) -> Result<(), PackageError> {
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;
    if archive.len() > MAX_ENTRIES {
        return Err(PackageError::InvalidZip(format!("more than {MAX_ENTRIES} entries")));
    }
    std::fs::create_dir_all(target)?;
    let mut budget = MAX_UNZIPPED_BYTES;
    let invalid = |err: zip::result::ZipError| PackageError::InvalidZip(err.to_string());
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(invalid)?;
        let Some(relative) = entry.enclosed_name() else {
            return Err(PackageError::InvalidZip(format!("entry name {:?} leaves the package", entry.name())));
        };
        let path = target.join(relative);
        let mode = entry.unix_mode();
        if entry.is_dir() {
            std::fs::create_dir_all(&path)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if entry.is_symlink() {
            let mut link = String::new();
            (&mut entry)
                .take(4096)
                .read_to_string(&mut link)
                .map_err(|err| PackageError::InvalidZip(err.to_string()))?;
            std::os::unix::fs::symlink(&link, &path)?;
            continue;
        }
        let mut file = std::fs::File::create(&path)?;
        // One byte more than the budget tells a too-large entry from one that fits exactly.
        let copied = std::io::copy(&mut (&mut entry).take(budget + 1), &mut file)
            .map_err(|err| PackageError::InvalidZip(err.to_string()))?;
        if copied > budget {
            return Err(PackageError::TooLarge);
        }
        budget -= copied;
        if let Some(mode) = mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777 & !0o7000))?;
        }
    }
    Ok(())
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err),
    }
}

/// The identity of a code directory used in place: a SHA-256 over every file's relative path
/// and content, so any edit gives a new identity (and fresh environments).
pub fn directory_fingerprint(dir: &Path) -> std::io::Result<PackageInfo> {
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    for relative in &files {
        let content = std::fs::read(dir.join(relative))?;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
        size += content.len() as u64;
    }
    let digest = hasher.finalize();
    Ok(PackageInfo {
        code_id: format!("dir-{}", hex::encode(digest)),
        sha256_base64: base64::engine::general_purpose::STANDARD.encode(digest),
        size,
    })
}

/// A cheap signature of a directory tree: every file's path, size and modification time. It
/// changes when a file is edited, added or removed, without reading any content.
pub fn directory_stamp(dir: &Path) -> std::io::Result<u64> {
    use std::hash::{Hash, Hasher};
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for relative in &files {
        let meta = std::fs::metadata(dir.join(relative))?;
        relative.hash(&mut hasher);
        meta.len().hash(&mut hasher);
        meta.modified().ok().hash(&mut hasher);
    }
    Ok(hasher.finish())
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        if name == "__pycache__" || name == ".git" || name == "node_modules/.cache" {
            continue;
        }
        if kind.is_dir() {
            collect_files(root, &entry.path(), files)?;
        } else if kind.is_file() {
            if let Ok(relative) = entry.path().strip_prefix(root) {
                files.push(relative.to_path_buf());
            }
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Builds a zip archive in memory from `(path, content, unix mode)` entries (for tests,
/// benches and functions declared from a directory).
pub fn zip_of(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        for (path, content, mode) in entries {
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(*mode);
            if writer.start_file(*path, options).is_ok() {
                let _ = writer.write_all(content);
            }
        }
        let _ = writer.finish();
    }
    buffer.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_unpacks_with_its_modes_and_is_stored_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CodeStore::open(dir.path().to_path_buf()).expect("open");
        let zip = zip_of(&[("app.py", b"x = 1\n", 0o644), ("bin/bootstrap", b"#!/bin/sh\n", 0o755)]);
        let info = store.put(&zip).expect("put");
        assert_eq!(info.size, zip.len() as u64);
        let root = store.package_dir(&info.code_id);
        assert_eq!(std::fs::read(root.join("app.py")).expect("read"), b"x = 1\n");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(root.join("bin/bootstrap")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "executable bit kept");
        assert_eq!(store.put(&zip).expect("again"), info);
        std::fs::remove_dir_all(&root).expect("remove");
        store.ensure_unpacked(&info.code_id).expect("re-unpack");
        assert!(root.join("app.py").exists());
    }

    #[test]
    fn a_zip_bomb_stops_at_the_unzipped_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CodeStore::open(dir.path().to_path_buf()).expect("open");
        // 300 MB of zeros deflate to about 300 KB.
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut buffer);
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            writer.start_file("zeros", options).expect("start");
            let chunk = vec![0u8; 1 << 20];
            for _ in 0..300 {
                writer.write_all(&chunk).expect("write");
            }
            writer.finish().expect("finish");
        }
        let bomb = buffer.into_inner();
        assert!(bomb.len() < 2 << 20);
        assert!(matches!(store.put(&bomb), Err(PackageError::TooLarge)));
        // Nothing of it stays on disk.
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    #[test]
    fn names_that_leave_the_package_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CodeStore::open(dir.path().join("code")).expect("open");
        let zip = zip_of(&[("../escaped.txt", b"x", 0o644)]);
        assert!(matches!(store.put(&zip), Err(PackageError::InvalidZip(_))));
        assert!(!dir.path().join("escaped.txt").exists());
    }

    #[test]
    fn retain_removes_unreferenced_packages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CodeStore::open(dir.path().to_path_buf()).expect("open");
        let kept = store.put(&zip_of(&[("a.py", b"a", 0o644)])).expect("put");
        let dropped = store.put(&zip_of(&[("b.py", b"b", 0o644)])).expect("put");
        let keep = std::collections::BTreeSet::from([kept.code_id.clone()]);
        let (pinned, pin) = store.put_pinned(&zip_of(&[("c.py", b"c", 0o644)])).expect("put");
        assert_eq!(store.retain(&keep).expect("retain"), 1);
        assert!(store.zip(&pinned.code_id).is_ok(), "a pinned package stays");
        drop(pin);
        assert_eq!(store.retain(&keep).expect("retain"), 1);
        assert!(store.package_dir(&kept.code_id).is_dir() && store.zip(&kept.code_id).is_ok());
        assert!(!store.package_dir(&dropped.code_id).exists() && store.zip(&dropped.code_id).is_err());
    }

    #[test]
    fn garbage_is_an_invalid_zip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CodeStore::open(dir.path().to_path_buf()).expect("open");
        assert!(matches!(store.put(b"not a zip"), Err(PackageError::InvalidZip(_))));
    }
}
