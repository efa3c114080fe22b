//! A check of a SQLite write-ahead log before the database is opened: does it hold committed
//! transactions that SQLite's recovery would silently drop?
//!
//! SQLite replays WAL frames up to the first one whose salt or cumulative checksum does not
//! match, and ignores the rest. After a crash, that rest is normally either frames of an older
//! generation (a reused WAL: other salts) or the tail of a transaction that never finished
//! committing (never acknowledged). But if a frame in the middle is damaged, every committed
//! transaction after it — acknowledged sends, deletes — is dropped without a word. This module
//! walks the frames as SQLite does and reports commit frames of the current generation that
//! come after the first bad frame, which only damage explains. (A torn final commit frame, the
//! last frame of the file, is a transaction that was never acknowledged, and is not reported.)
//!
//! # Wire (<https://www.sqlite.org/fileformat2.html#walformat>)
//! ```text
//! header (32 bytes): magic 0x377f0682|0x377f0683, version, page size, checkpoint seq,
//!                    salt-1, salt-2, checksum-1, checksum-2          (big-endian u32s)
//! frame: header (24 bytes): page number, db size after commit (0 unless a commit frame),
//!                           salt-1, salt-2, checksum-1, checksum-2;  then one page
//! checksums: over 8-byte words (two u32s, byte order by magic: ...82 little, ...83 big),
//!            s0 += x0 + s1; s1 += x1 + s0, cumulative from the header on
//! ```

use std::path::Path;

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn checksum(big_endian: bool, data: &[u8], mut s0: u32, mut s1: u32) -> (u32, u32) {
    for word in data.chunks_exact(8) {
        let read = |at: usize| {
            let quad = [word[at], word[at + 1], word[at + 2], word[at + 3]];
            if big_endian {
                u32::from_be_bytes(quad)
            } else {
                u32::from_le_bytes(quad)
            }
        };
        s0 = s0.wrapping_add(read(0)).wrapping_add(s1);
        s1 = s1.wrapping_add(read(4)).wrapping_add(s0);
    }
    (s0, s1)
}

/// What a WAL holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalReport {
    /// Frames SQLite will replay (up to the last valid commit frame).
    pub replayed_frames: u64,
    /// Commit frames of the current generation after the first bad frame: committed
    /// transactions recovery would drop.
    pub lost_commits: u64,
}

/// Scans the WAL of `database` (the `-wal` file beside it); `None` when there is none or it is
/// empty or unreadable as a WAL (SQLite then ignores it too).
pub fn scan(database: &Path) -> std::io::Result<Option<WalReport>> {
    let mut path = database.as_os_str().to_owned();
    path.push("-wal");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    if bytes.len() < HEADER {
        return Ok(None);
    }
    let magic = be32(&bytes, 0);
    let big_endian = match magic {
        0x377f_0682 => false,
        0x377f_0683 => true,
        _ => return Ok(None),
    };
    let page_size = be32(&bytes, 8) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Ok(None);
    }
    let (salt1, salt2) = (be32(&bytes, 16), be32(&bytes, 20));
    let (mut s0, mut s1) = checksum(big_endian, &bytes[..24], 0, 0);
    if (s0, s1) != (be32(&bytes, 24), be32(&bytes, 28)) {
        return Ok(None);
    }
    let frames: Vec<&[u8]> = bytes[HEADER..].chunks_exact(FRAME_HEADER + page_size).collect();
    let mut replayed_frames = 0u64;
    let mut broken_at: Option<usize> = None;
    for (index, frame) in frames.iter().enumerate() {
        if (be32(frame, 8), be32(frame, 12)) != (salt1, salt2) {
            broken_at = Some(index);
            break;
        }
        let (a, b) = checksum(big_endian, &frame[..8], s0, s1);
        let (a, b) = checksum(big_endian, &frame[FRAME_HEADER..], a, b);
        if (a, b) != (be32(frame, 16), be32(frame, 20)) {
            broken_at = Some(index);
            break;
        }
        (s0, s1) = (a, b);
        if be32(frame, 4) != 0 {
            replayed_frames = index as u64 + 1;
        }
    }
    let mut lost_commits = 0;
    if let Some(start) = broken_at {
        // The last frame may be a torn commit that was never acknowledged: not counted.
        let after_damage = &frames[start..frames.len().saturating_sub(1).max(start)];
        lost_commits = after_damage
            .iter()
            .filter(|frame| (be32(frame, 8), be32(frame, 12)) == (salt1, salt2) && be32(frame, 4) != 0)
            .count() as u64;
    }
    Ok(Some(WalReport { replayed_frames, lost_commits }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// A database left as a crash leaves it: WAL written, never checkpointed.
    fn crashed_database(dir: &Path, transactions: usize) -> std::path::PathBuf {
        let path = dir.join("db.sqlite3");
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
        conn.pragma_update(None, "wal_autocheckpoint", 0).expect("no checkpoints");
        conn.execute_batch("CREATE TABLE t (x BLOB)").expect("table");
        for index in 0..transactions {
            conn.execute("INSERT INTO t VALUES (?1)", [vec![index as u8; 3000]]).expect("insert");
        }
        // Forget the connection without closing it (which would checkpoint).
        std::mem::forget(conn);
        path
    }

    #[test]
    fn an_intact_wal_loses_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = crashed_database(dir.path(), 20);
        let report = scan(&path).expect("scan").expect("a wal");
        assert!(report.replayed_frames > 20);
        assert_eq!(report.lost_commits, 0);
    }

    #[test]
    fn a_damaged_frame_in_the_middle_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = crashed_database(dir.path(), 20);
        let wal = dir.path().join("db.sqlite3-wal");
        let mut bytes = std::fs::read(&wal).expect("read");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&wal, bytes).expect("write");
        let report = scan(&path).expect("scan").expect("a wal");
        assert!(report.lost_commits >= 5, "{report:?}");
    }

    #[test]
    fn a_torn_last_frame_is_not_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = crashed_database(dir.path(), 5);
        let wal = dir.path().join("db.sqlite3-wal");
        let mut bytes = std::fs::read(&wal).expect("read");
        let last = bytes.len() - 10;
        bytes[last] ^= 0xff;
        std::fs::write(&wal, bytes).expect("write");
        assert_eq!(scan(&path).expect("scan").expect("a wal").lost_commits, 0);
        assert_eq!(scan(&dir.path().join("none")).expect("scan"), None);
    }
}
