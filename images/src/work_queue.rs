//! Work spread over threads: unpacking packages and compressing layers (on every core),
//! reading the store's packages for an export (every core), downloads (several at a time,
//! since most of their time is waiting on the server). One queue: each thread takes the
//! next item when it finishes one, so a few large items do not all fall to one thread.

use std::sync::Mutex;

/// One thread per core.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `work` applied to each of `items` on at most `threads` threads; the results in the
/// items' order.
pub fn map_in_parallel<Item: Sync, Output: Send>(
    items: &[Item],
    threads: usize,
    work: impl Fn(&Item) -> Output + Sync,
) -> Vec<Output> {
    let queue = Mutex::new(items.iter().enumerate());
    let take_and_work = || {
        let mut done = Vec::new();
        loop {
            let next = queue.lock().expect("the work queue").next();
            let Some((position, item)) = next else {
                return done;
            };
            done.push((position, work(item)));
        }
    };
    let threads = threads.clamp(1, items.len().max(1));
    let mut results: Vec<(usize, Output)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(take_and_work)).collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("work on the queue does not panic"))
            .collect()
    });
    results.sort_by_key(|(position, _)| *position);
    results.into_iter().map(|(_, output)| output).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_whatever_thread_did_each() {
        let items: Vec<u64> = (0..100).collect();
        let squares = map_in_parallel(&items, 7, |item| item * item);
        assert_eq!(
            squares,
            items.iter().map(|item| item * item).collect::<Vec<_>>()
        );
        assert!(map_in_parallel(&[] as &[u64], 4, |item| *item).is_empty());
    }
}
