//! What the hub hands out: each event with its SSE frame, rendered once for every stream. The
//! frames of one read of the log are rendered into one buffer, one after the other, so that a
//! stream sending several events in a row sends one slice of that buffer: one body chunk, and no
//! copy, however many events it holds. At 1,000 streams the per-chunk cost (a queue send, a wake
//! of the connection, a write) is what a busy log costs, not the bytes.

use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tollgate_core::event_log::LoggedEvent;

/// An event as the hub hands it out: the event, and its SSE frame.
#[derive(Debug)]
pub struct Published {
    /// The event, for the streams' filters.
    pub event: LoggedEvent,
    /// The frames of every event published with this one.
    batch: Bytes,
    /// Where this event's [`LoggedEvent::sse_frame`] lies in `batch`.
    at: Range<usize>,
}

/// The frames of consecutive events: one slice of the buffer they were rendered into.
#[derive(Debug)]
pub struct Frames {
    batch: Bytes,
    at: Range<usize>,
}

impl Published {
    /// `events` (in commit order), their frames rendered into one buffer.
    pub fn batch(events: Vec<LoggedEvent>) -> Vec<Arc<Self>> {
        let frames: Vec<String> = events.iter().map(LoggedEvent::sse_frame).collect();
        let mut buffer = BytesMut::with_capacity(frames.iter().map(String::len).sum());
        let mut places = Vec::with_capacity(frames.len());
        for f in &frames {
            places.push(buffer.len()..buffer.len() + f.len());
            buffer.extend_from_slice(f.as_bytes());
        }
        let batch = buffer.freeze();
        events.into_iter().zip(places).map(|(event, at)| Arc::new(Self { event, batch: batch.clone(), at })).collect()
    }

    /// This event's frame alone.
    pub fn frame(&self) -> Bytes {
        self.batch.slice(self.at.clone())
    }

    /// Frames that start with this event's.
    pub fn frames(&self) -> Frames {
        Frames { batch: self.batch.clone(), at: self.at.clone() }
    }

    /// Adds this event's frame to `frames` if it comes right after them in the same buffer (the
    /// next event of the same read); false, and `frames` unchanged, otherwise.
    pub fn extends(&self, frames: &mut Frames) -> bool {
        if frames.batch.as_ptr() != self.batch.as_ptr() || frames.at.end != self.at.start {
            return false;
        }
        frames.at.end = self.at.end;
        true
    }
}

impl Frames {
    /// The frames as one chunk of bytes, shared with every stream that sends them.
    pub fn bytes(&self) -> Bytes {
        self.batch.slice(self.at.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;
    use tollgate_core::ProjectId;

    fn event(seq: i64) -> LoggedEvent {
        LoggedEvent {
            seq,
            id: format!("evt_{seq:026}"),
            project_id: ProjectId::generate(),
            kind: "resource.created".into(),
            resource_id: None,
            resource_type: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            payload: format!("{{\"type\":\"resource.created\",\"data\":{{\"n\":{seq}}}}}"),
        }
    }

    #[test]
    fn each_frame_is_the_events_own() {
        let published = Published::batch((1..=3).map(event).collect());
        for p in &published {
            assert_eq!(p.frame(), Bytes::from(p.event.sse_frame()));
        }
    }

    #[test]
    fn consecutive_events_make_one_chunk_and_a_gap_starts_another() {
        let published = Published::batch((1..=4).map(event).collect());
        let mut run = published[0].frames();
        assert!(published[1].extends(&mut run));
        assert!(!published[3].extends(&mut run), "the third event was left out");
        assert_eq!(run.bytes(), [published[0].frame(), published[1].frame()].concat());
        // Another read's frames never join, even when its buffer happens to follow in memory.
        let later = Published::batch(vec![event(5)]);
        let mut run = published[3].frames();
        assert!(!later[0].extends(&mut run));
        assert_eq!(run.bytes(), published[3].frame());
    }
}
