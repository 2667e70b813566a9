//! The log sink: lines are appended to a bounded in-memory buffer and written to stdout in
//! batches by one background thread. A request never waits on stdout, and — unlike a
//! channel per line — never wakes another thread per line either: the writer thread is woken
//! once when the buffer goes from empty to non-empty, then gathers for [`BATCH_DELAY`] before
//! writing everything at once. On a one-core deployment the per-line wake-up was the largest
//! single cost of request logging. When stdout stalls and the buffer reaches [`CAPACITY`],
//! new lines are dropped and counted, and the count is reported once output resumes.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer thread gathers lines after the first one arrives.
const BATCH_DELAY: Duration = Duration::from_millis(20);
/// The most the buffer holds before lines are dropped.
const CAPACITY: usize = 8 << 20;

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    dropped: u64,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    buffer: Mutex<Buffer>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A cheap handle that appends whole lines; clone it freely.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Flushes what is buffered and stops the writer thread when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread over `out`.
pub fn batched(out: impl Write + Send + 'static) -> (BatchWriter, FlushGuard) {
    let shared = Arc::new(Shared::default());
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("tollgate-log".into())
        .spawn(move || drain(&worker, out))
        .expect("spawn the log writer thread");
    (BatchWriter { shared: shared.clone() }, FlushGuard { shared, thread: Some(thread) })
}

fn drain(shared: &Shared, mut out: impl Write) {
    let mut spare = Vec::new();
    loop {
        let mut buffer = shared.lock();
        while buffer.bytes.is_empty() && !buffer.closed {
            buffer = shared.wake.wait(buffer).unwrap_or_else(|p| p.into_inner());
        }
        if !buffer.closed {
            drop(buffer);
            std::thread::sleep(BATCH_DELAY);
            buffer = shared.lock();
        }
        let closed = buffer.closed;
        let dropped = std::mem::take(&mut buffer.dropped);
        std::mem::swap(&mut buffer.bytes, &mut spare);
        drop(buffer);
        // Output errors (a closed pipe) cannot be reported anywhere but here: keep serving.
        let _ = out.write_all(&spare);
        if dropped > 0 {
            let _ = writeln!(
                out,
                r#"{{"level":"WARN","target":"tollgate::logging","message":"log lines dropped while stdout was slow","dropped":{dropped}}}"#
            );
        }
        let _ = out.flush();
        spare.clear();
        if closed {
            return;
        }
    }
}

impl BatchWriter {
    /// Appends one whole line (or drops it when the buffer is full).
    pub fn append(&self, line: &[u8]) {
        let mut buffer = self.shared.lock();
        if buffer.bytes.len() + line.len() > CAPACITY {
            buffer.dropped += 1;
            return;
        }
        let was_empty = buffer.bytes.is_empty();
        buffer.bytes.extend_from_slice(line);
        drop(buffer);
        if was_empty {
            self.shared.wake.notify_one();
        }
    }
}

impl Write for BatchWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.append(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read after the guard is gone.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_in_order_and_the_guard_flushes() {
        let sink = Sink::default();
        let (writer, guard) = batched(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        w.write_all(format!("{t} {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        drop(guard);
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 4000);
        for t in 0..4 {
            let seq: Vec<usize> =
                out.lines().filter_map(|l| l.strip_prefix(&format!("{t} "))).map(|n| n.parse().unwrap()).collect();
            assert_eq!(seq, (0..1000).collect::<Vec<_>>(), "thread {t}'s lines out of order");
        }
    }

    /// Stdout whose first write hangs until the test releases it; later writes succeed.
    struct Stalled(Option<std::sync::mpsc::Receiver<()>>);

    impl Write for Stalled {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if let Some(release) = self.0.take() {
                let _ = release.recv();
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_stdout_drops_lines_instead_of_blocking() {
        let (release, stalled) = std::sync::mpsc::channel();
        let (mut writer, guard) = batched(Stalled(Some(stalled)));
        let line = vec![b'x'; 1 << 16];
        let started = std::time::Instant::now();
        // Far more than CAPACITY while the writer thread is stuck in its first write.
        for _ in 0..1000 {
            writer.write_all(&line).unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(2), "writes waited on stdout");
        assert!(writer.shared.lock().dropped > 0, "nothing was dropped");
        release.send(()).unwrap();
        drop(guard);
    }
}
