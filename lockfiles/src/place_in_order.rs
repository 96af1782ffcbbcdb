//! A large list put in a computed order without moving its items more than once each.

/// Puts each item where `order` says: `order[target]` is the position of the item that goes
/// to `target`, and `order` is a permutation of the positions. Each cycle of the
/// permutation is followed once, by swaps: an item is large (a node), and sorting the items
/// themselves moved each many times (a tenth of a 10,000-host compile). `order` is used up.
pub fn place_in_order<T>(items: &mut [T], order: &mut [usize]) {
    debug_assert_eq!(items.len(), order.len());
    // A placed position is marked.
    const PLACED: usize = usize::MAX;
    for start in 0..order.len() {
        let mut target = start;
        while order[target] != PLACED {
            let source = order[target];
            order[target] = PLACED;
            if source != start {
                items.swap(target, source);
            }
            target = source;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::place_in_order;

    #[test]
    fn each_item_goes_where_the_order_says() {
        let mut items = ["a", "b", "c", "d", "e"];
        // Two cycles (0 2 4) and (1 3).
        let mut order = [2, 3, 4, 1, 0];
        place_in_order(&mut items, &mut order);
        assert_eq!(items, ["c", "d", "e", "b", "a"]);
    }
}
