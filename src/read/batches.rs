//! A producer on a thread of its own that hands its items to the consumer
//! in batches through a bounded channel: the producer never runs more than
//! [`BATCH`] × [`DEPTH`] items ahead, and stops when the consumer is gone.
//! The spreadsheet reader and the preparing stages both run on it.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Items per batch handed from one thread to the next.
pub(crate) const BATCH: usize = 256;
/// Batches that may wait between two threads: a producer never runs more
/// than `BATCH * DEPTH` items ahead of its consumer.
pub(crate) const DEPTH: usize = 4;

/// What goes through the channel.
enum Message<T, E> {
    Items(Vec<T>),
    Failed(E),
    End,
}

/// Why the items stopped before their end.
#[derive(Debug)]
pub(crate) enum Stopped<E> {
    /// The producer failed with this error.
    Failed(E),
    /// The producer's thread went away without saying it was done (it panicked).
    Vanished,
}

/// Runs `produce` on a new thread called `name`; its items, then how it
/// ended, are read from the returned [`BatchReceiver`].
pub(crate) fn spawn<T: Send + 'static, E: Send + 'static>(
    name: &str,
    produce: impl FnOnce(&mut BatchSender<T, E>) -> Result<(), E> + Send + 'static,
) -> std::io::Result<BatchReceiver<T, E>> {
    let (tx, rx) = sync_channel(DEPTH);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut sender = BatchSender {
                tx,
                batch: Vec::with_capacity(BATCH),
            };
            let outcome = produce(&mut sender);
            sender.finish(outcome);
        })?;
    Ok(BatchReceiver {
        rx,
        current: Vec::new().into_iter(),
        done: false,
    })
}

/// The producer's end of the channel.
pub(crate) struct BatchSender<T, E> {
    tx: SyncSender<Message<T, E>>,
    batch: Vec<T>,
}

impl<T, E> BatchSender<T, E> {
    /// Adds an item, sending the batch when it is full; `false` when the
    /// consumer has gone and producing should stop.
    pub fn push(&mut self, item: T) -> bool {
        self.batch.push(item);
        self.batch.len() < BATCH || self.send_batch()
    }

    fn send_batch(&mut self) -> bool {
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.tx.send(Message::Items(full)).is_ok()
    }

    /// Sends the last items and the end, or on failure the error alone
    /// (items not yet sent are dropped).
    fn finish(mut self, outcome: Result<(), E>) {
        match outcome {
            Ok(()) => {
                if self.batch.is_empty() || self.send_batch() {
                    let _ = self.tx.send(Message::End);
                }
            }
            Err(error) => {
                let _ = self.tx.send(Message::Failed(error));
            }
        }
    }
}

/// The consumer's end of the channel: the items in order, then one
/// [`Stopped`] if the producer did not end normally.
pub(crate) struct BatchReceiver<T, E> {
    rx: Receiver<Message<T, E>>,
    current: std::vec::IntoIter<T>,
    done: bool,
}

impl<T, E> Iterator for BatchReceiver<T, E> {
    type Item = Result<T, Stopped<E>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            let stopped = match self.rx.recv() {
                Ok(Message::Items(items)) => {
                    self.current = items.into_iter();
                    continue;
                }
                Ok(Message::End) => {
                    self.done = true;
                    return None;
                }
                Ok(Message::Failed(error)) => Stopped::Failed(error),
                Err(_) => Stopped::Vanished,
            };
            self.done = true;
            return Some(Err(stopped));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_arrive_in_order_then_the_failure() {
        let rx = spawn("test", |tx: &mut BatchSender<usize, &str>| {
            for i in 0..BATCH * 2 + 3 {
                tx.push(i);
            }
            Ok(())
        })
        .unwrap();
        let items: Vec<usize> = rx.map(|r| r.unwrap()).collect();
        assert_eq!(items, (0..BATCH * 2 + 3).collect::<Vec<_>>());

        let mut rx = spawn("test", |tx: &mut BatchSender<usize, &str>| {
            (0..BATCH).for_each(|i| {
                tx.push(i);
            });
            Err("broken")
        })
        .unwrap();
        assert_eq!(rx.by_ref().take(BATCH).filter(Result::is_ok).count(), BATCH);
        assert!(matches!(rx.next(), Some(Err(Stopped::Failed("broken")))));
        assert!(rx.next().is_none());
    }
}
