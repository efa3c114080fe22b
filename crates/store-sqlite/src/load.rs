//! Reads the database back into the in-memory index at start-up.

use crate::OpenError;
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::Arc;
use wharf_store::memory::State;
use wharf_store::*;
use wharf_types::{EpochMillis, QueueKey};

/// Loads every queue, tombstone and message; `now` decides visibility. Message content is
/// kept in memory, oldest first, while it fits `cache_budget` bytes; the rest stays on disk.
pub(crate) fn load(conn: &Connection, now: EpochMillis, cache_budget: usize) -> Result<State, OpenError> {
    let mut state = State::with_cache_budget(cache_budget);
    let mut marks = conn.prepare("SELECT key, value FROM meta WHERE key IN ('next_seq', 'next_queue_id')")?;
    let rows = marks.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?;
    for row in rows {
        let (key, value) = row?;
        let value: u64 = value.parse().map_err(|_| corrupt(&format!("meta {key}={value}")))?;
        // The marks hold the next free value; reserving `value - 1` keeps it free.
        match (key.as_str(), value.checked_sub(1)) {
            ("next_seq", Some(last)) => state.reserve_seq(last),
            ("next_queue_id", Some(last)) => state.reserve_queue_id(last),
            _ => {}
        }
    }

    let mut queues = conn.prepare(
        "SELECT id, account, region, name, settings, tags, created_ms, modified_ms, last_purge_ms, version FROM queues",
    )?;
    let rows = queues.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, String>(5)?,
            row.get::<_, i64>(6)?,
            row.get::<_, i64>(7)?,
            row.get::<_, Option<i64>>(8)?,
            row.get::<_, i64>(9)?,
        ))
    })?;
    for row in rows {
        let (id, account, region, name, settings, tags, created_ms, modified_ms, last_purge_ms, version) = row?;
        let key = queue_key(&account, &region, &name)?;
        state.restore_queue(QueueRecord {
            id: QueueId(id as u64),
            key,
            settings: serde_json::from_str(&settings)
                .map_err(|err| corrupt(&format!("queue {name} settings: {err}")))?,
            tags: serde_json::from_str(&tags).map_err(|err| corrupt(&format!("queue {name} tags: {err}")))?,
            created_ms: created_ms as u64,
            modified_ms: modified_ms as u64,
            last_purge_ms: last_purge_ms.map(|instant| instant as u64),
            version: version as u64,
        });
    }

    let mut tombstones = conn.prepare("SELECT account, region, name, deleted_ms FROM deleted_queues")?;
    let rows = tombstones.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, i64>(3)?))
    })?;
    for row in rows {
        let (account, region, name, deleted_ms) = row?;
        state.restore_tombstone(queue_key(&account, &region, &name)?, deleted_ms as u64);
    }

    let mut dedup = conn.prepare("SELECT queue_id, key, message_id, seq, expires_ms FROM dedup")?;
    let rows = dedup.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Vec<u8>>(2)?,
            row.get::<_, i64>(3)?,
            row.get::<_, i64>(4)?,
        ))
    })?;
    for row in rows {
        let (queue, key, message_id, seq, expires_ms) = row?;
        let entry = DedupEntry {
            message_id: bytes16(&message_id, seq as u64)?,
            seq: seq as u64,
            expires_ms: expires_ms as u64,
        };
        state.restore_dedup(QueueId(queue as u64), key, entry);
    }

    // Senders are few; share one allocation per distinct sender id.
    let mut senders: HashMap<String, Arc<str>> = HashMap::new();
    let mut messages = conn.prepare(&format!(
        "SELECT seq, queue_id, sent_ms, visible_at_ms, receive_count, first_receive_ms, token, {DATA_COLUMNS}
         FROM messages ORDER BY seq"
    ))?;
    let mut rows = messages.query([])?;
    while let Some(row) = rows.next()? {
        let seq = row.get::<_, i64>(0)? as u64;
        let queue = QueueId(row.get::<_, i64>(1)? as u64);
        let sent_ms = row.get::<_, i64>(2)? as u64;
        let data =
            if state.has_room() { Some(Arc::new(message_data(row, 7, seq, sent_ms, &mut senders)?)) } else { None };
        // The group is needed for FIFO order even when the content stays on disk.
        let group_fields: Option<String> = row.get(13)?;
        let group: Option<GroupFields> = decode_optional(group_fields.as_deref(), seq)?;
        state.restore_message(
            queue,
            seq,
            data,
            group.as_ref().map(|group| group.group_id.as_str()),
            sent_ms,
            row.get::<_, i64>(3)? as u64,
            row.get::<_, i64>(4)? as u32,
            row.get::<_, i64>(5)? as u64,
            row.get::<_, i64>(6)? as u64,
            now,
        );
    }
    Ok(state)
}

/// The content columns of `messages`, in the order [`message_data`] reads them.
pub(crate) const DATA_COLUMNS: &str =
    "message_id, body, body_md5, attributes, system_attributes, sender_id, group_fields, dead_letter_source";

/// Decodes a message's content from a row holding [`DATA_COLUMNS`] from column `first` on.
pub(crate) fn message_data(
    row: &rusqlite::Row<'_>,
    first: usize,
    seq: u64,
    sent_ms: u64,
    senders: &mut HashMap<String, Arc<str>>,
) -> Result<MessageData, OpenError> {
    let message_id: Vec<u8> = row.get(first)?;
    let body: String = row.get(first + 1)?;
    let body_md5: Vec<u8> = row.get(first + 2)?;
    let attributes: Option<String> = row.get(first + 3)?;
    let system_attributes: Option<String> = row.get(first + 4)?;
    let sender_id: String = row.get(first + 5)?;
    let group_fields: Option<String> = row.get(first + 6)?;
    let dead_letter_source: Option<String> = row.get(first + 7)?;
    let sender_id = match senders.get(&sender_id) {
        Some(shared) => Arc::clone(shared),
        None => {
            let shared: Arc<str> = Arc::from(sender_id.as_str());
            senders.insert(sender_id, Arc::clone(&shared));
            shared
        }
    };
    Ok(MessageData {
        message_id: bytes16(&message_id, seq)?,
        body: body.into_boxed_str(),
        body_md5: bytes16(&body_md5, seq)?,
        attributes: decode_optional(attributes.as_deref(), seq)?.map(Box::new),
        system_attributes: decode_optional(system_attributes.as_deref(), seq)?.map(Box::new),
        sender_id,
        sent_ms,
        group: decode_optional(group_fields.as_deref(), seq)?.map(Box::new),
        dead_letter_source: dead_letter_source.map(String::into_boxed_str),
    })
}

fn queue_key(account: &str, region: &str, name: &str) -> Result<QueueKey, OpenError> {
    Ok(QueueKey {
        account: account.parse().map_err(|_| corrupt(&format!("account {account}")))?,
        region: region.parse().map_err(|_| corrupt(&format!("region {region}")))?,
        name: name.parse().map_err(|_| corrupt(&format!("queue name {name}")))?,
    })
}

fn bytes16(bytes: &[u8], seq: u64) -> Result<[u8; 16], OpenError> {
    bytes.try_into().map_err(|_| corrupt(&format!("message {seq}: expected 16 bytes")))
}

fn decode_optional<T: serde::de::DeserializeOwned>(text: Option<&str>, seq: u64) -> Result<Option<T>, OpenError> {
    text.map(|text| serde_json::from_str(text).map_err(|err| corrupt(&format!("message {seq}: {err}")))).transpose()
}

fn corrupt(what: &str) -> OpenError {
    OpenError::Corrupt(what.to_owned())
}
