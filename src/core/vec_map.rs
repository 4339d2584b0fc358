//! A tiny map on a `Vec`, for the handful of pending requests the widget tracks at once.
//! Much less wasm than a `BTreeMap` instantiation per key/value type.

use alloc::vec::Vec;

/// Insertion-ordered key/value pairs with unique keys.
#[derive(Debug, Clone)]
pub struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<K: PartialEq, V> VecMap<K, V> {
    /// Inserts, replacing the value of an existing key.
    pub fn insert(&mut self, key: K, value: V) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get<Q: ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: core::borrow::Borrow<Q>,
        Q: PartialEq,
    {
        self.0.iter().find(|(k, _)| k.borrow() == key).map(|(_, v)| v)
    }

    /// Removes and returns the value of `key`.
    pub fn remove<Q: ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: core::borrow::Borrow<Q>,
        Q: PartialEq,
    {
        let i = self.0.iter().position(|(k, _)| k.borrow() == key)?;
        Some(self.0.remove(i).1)
    }

    /// Pairs in insertion order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// True when there is no pair.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes every pair out, in insertion order.
    pub fn take(&mut self) -> Vec<(K, V)> {
        core::mem::take(&mut self.0)
    }
}
