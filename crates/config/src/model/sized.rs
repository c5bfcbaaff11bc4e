// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Lists decoded to size. A snapshot's decoder pushes a list's items one
//! by one, so a list of one checker lives in room for four and a virtual
//! server's ten real servers in room for sixteen. Cutting them to size
//! afterwards shrinks each allocation in place and leaves its freed tail
//! as a hole between live ones, which the heap cannot return: the checker
//! child's resident size stayed near the uncut figure (issue 10). Copying
//! each list out of its growing buffer as soon as it is complete lets the
//! next list grow in the buffer just freed instead.

use serde::{Deserialize, Deserializer};

/// `#[serde(deserialize_with = "sized::vec")]`.
pub(crate) fn vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Vec::<T>::deserialize(d).map(to_size)
}

/// `grown` in an allocation of exactly its length.
pub(crate) fn to_size<T>(grown: Vec<T>) -> Vec<T> {
    if grown.len() == grown.capacity() {
        return grown;
    }
    let mut out = Vec::with_capacity(grown.len());
    out.extend(grown);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Lists {
        #[serde(deserialize_with = "vec")]
        one: Vec<u32>,
        #[serde(deserialize_with = "vec")]
        ten: Vec<String>,
        #[serde(default, deserialize_with = "vec")]
        none: Vec<u8>,
    }

    #[test]
    fn decoded_lists_have_no_spare_room() {
        let text = r#"{"one":[7],"ten":["a","b","c","d","e","f","g","h","i","j"]}"#;
        let l: Lists = serde_json::from_str(text).expect("decodes");
        assert_eq!(l.one, [7]);
        assert_eq!((l.one.len(), l.one.capacity()), (1, 1));
        assert_eq!(l.ten.len(), 10);
        assert_eq!(l.ten.capacity(), 10);
        assert_eq!(l.ten[9], "j");
        assert_eq!(l.none.capacity(), 0);
    }
}
