//! The work `serve` runs beside answering requests (webhook dispatch, the NATS sink, the EMF
//! flusher, the separate metrics listener), owned in one place: each task is started with a
//! stop signal and its join handle kept, so that shutdown tells them all to stop and waits for
//! them (mini-redis's `run(listener, shutdown)`, zero2prod's `run_until_stopped`). Nothing the
//! server starts outlives it unnoticed: a task still running at the deadline is named in a
//! warning and aborted.

use std::future::Future;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The background tasks of one server.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Default for Background {
    fn default() -> Self {
        Self { stop: watch::channel(false).0, tasks: Vec::new() }
    }
}

impl Background {
    /// Starts `task`, which must return soon after its receiver turns `true`.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, task: F)
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push((name, tokio::spawn(task(self.stop.subscribe()))));
    }

    /// Tells every task to stop and waits for each until `deadline`.
    pub async fn stop(self, deadline: Instant) {
        let _ = self.stop.send(true);
        for (name, mut task) in self.tasks {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => tracing::debug!(task = name, "background task stopped"),
                Ok(Err(e)) => tracing::error!(task = name, error = %e, "background task failed"),
                Err(_) => {
                    tracing::warn!(task = name, "background task still running at the deadline: stopped");
                    task.abort();
                }
            }
        }
    }
}

/// Resolves once `stop` turns `true` (or its sender is gone).
pub async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn stop_waits_for_tasks_and_aborts_stragglers() {
        let mut background = Background::default();
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        background.spawn("polite", |stop| async move {
            stopped(stop).await;
            // Last work after the signal (a final flush) still happens.
            tokio::time::sleep(Duration::from_secs(1)).await;
            flag.store(true, Ordering::SeqCst);
        });
        background.spawn("stubborn", |_stop| std::future::pending());
        let started = Instant::now();
        background.stop(started + Duration::from_secs(5)).await;
        assert!(finished.load(Ordering::SeqCst));
        assert_eq!(started.elapsed(), Duration::from_secs(5), "the stubborn task is given up at the deadline");
    }
}
