//! Code packages: content-addressed zip files and the directories they unpack to.
//!
//! A package is stored once per content as `<dir>/<sha256 hex>.zip`, synced before the
//! function record that names it is written, and unpacked to `<dir>/<sha256 hex>/` (unpacked
//! into a temporary directory first, then renamed, so a half-unpacked package is never used).
//! Unix permissions in the archive are kept, so a `bootstrap` stays executable.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

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
    /// Writing to disk failed.
    #[error("storing code: {0}")]
    Io(#[from] std::io::Error),
}

/// The package directory of the data directory.
pub struct CodeStore {
    dir: PathBuf,
}

impl CodeStore {
    /// Uses (creating) `dir`.
    pub fn open(dir: PathBuf) -> std::io::Result<CodeStore> {
        std::fs::create_dir_all(&dir)?;
        Ok(CodeStore { dir })
    }

    /// Stores and unpacks a zip; storing the same content twice is a no-op.
    pub fn put(&self, zip_bytes: &[u8]) -> Result<PackageInfo, PackageError> {
        let digest = Sha256::digest(zip_bytes);
        let info = PackageInfo {
            code_id: hex::encode(digest),
            sha256_base64: base64::engine::general_purpose::STANDARD.encode(digest),
            size: zip_bytes.len() as u64,
        };
        let unpacked = self.package_dir(&info.code_id);
        if unpacked.is_dir() {
            return Ok(info);
        }
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
            .map_err(|err| PackageError::InvalidZip(err.to_string()))?;
        let staging = self.dir.join(format!(".unpack-{}-{}", info.code_id, uuid::Uuid::new_v4().simple()));
        archive.extract(&staging).map_err(|err| {
            let _ = std::fs::remove_dir_all(&staging);
            PackageError::InvalidZip(err.to_string())
        })?;
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
    fn garbage_is_an_invalid_zip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CodeStore::open(dir.path().to_path_buf()).expect("open");
        assert!(matches!(store.put(b"not a zip"), Err(PackageError::InvalidZip(_))));
    }
}
