//! The server-side conversation: an ordered list of items, as `previous_item_id` chains them.

use serde_json::Value;

use super::api_error::ApiError;

/// One conversation item (never holds audio bytes, only their length).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) id: String,
    /// The GA item JSON as echoed in `conversation.item.*` events.
    pub(crate) json: Value,
    /// Milliseconds of model audio in an assistant message, if it is an audio message.
    pub(crate) audio_ms: Option<u64>,
    /// When the first audio delta of an assistant message was sent (ms of simulation time):
    /// none of its audio can have been heard before then.
    pub(crate) audio_from_ms: Option<u64>,
}

impl Item {
    fn item_type(&self) -> &str {
        self.json
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Where a new item goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Position {
    /// At the end (no or null `previous_item_id`).
    End,
    /// At the start (`"root"`).
    Root,
    /// After the item with this id.
    After(String),
}

/// The ordered items of the default conversation.
#[derive(Debug, Default)]
pub(crate) struct Conversation {
    items: Vec<Item>,
}

impl Conversation {
    /// The id of the last item, which a new appended item points back to.
    pub(crate) fn last_id(&self) -> Option<String> {
        self.items.last().map(|i| i.id.clone())
    }

    /// Inserts `item` and returns its `previous_item_id`.
    pub(crate) fn insert(
        &mut self,
        item: Item,
        position: &Position,
    ) -> Result<Option<String>, ApiError> {
        let at = match position {
            Position::End => self.items.len(),
            Position::Root => 0,
            Position::After(id) => {
                self.index_of(id)
                    .ok_or_else(|| not_found(id, "previous_item_id"))?
                    + 1
            }
        };
        let previous = at
            .checked_sub(1)
            .and_then(|i| self.items.get(i))
            .map(|i| i.id.clone());
        self.items.insert(at, item);
        Ok(previous)
    }

    /// The item with this id.
    pub(crate) fn get(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The item with this id, mutably.
    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Item> {
        self.items.iter_mut().find(|i| i.id == id)
    }

    /// Removes the item with this id.
    pub(crate) fn remove(&mut self, id: &str) -> Result<Item, ApiError> {
        let at = self.index_of(id).ok_or_else(|| not_found(id, "item_id"))?;
        Ok(self.items.remove(at))
    }

    /// Whether a function call with this `call_id` exists.
    pub(crate) fn has_call(&self, call_id: &str) -> bool {
        self.items.iter().any(|i| {
            i.item_type() == "function_call"
                && i.json.get("call_id").and_then(Value::as_str) == Some(call_id)
        })
    }

    /// Number of items.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.items.iter().position(|i| i.id == id)
    }
}

/// The error for an unknown item id (the exact service code is unverified).
pub(crate) fn not_found(id: &str, param: &str) -> ApiError {
    ApiError::invalid(
        Some("item_not_found"),
        format!("Item with item_id not found: {id}"),
        Some(param),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(id: &str) -> Item {
        Item {
            id: id.to_owned(),
            json: json!({"id": id, "type": "message"}),
            audio_ms: None,
            audio_from_ms: None,
        }
    }

    #[test]
    fn positions_chain_previous_ids() {
        let mut c = Conversation::default();
        assert_eq!(c.insert(item("a"), &Position::End).unwrap(), None);
        assert_eq!(
            c.insert(item("b"), &Position::End).unwrap(),
            Some("a".to_owned())
        );
        assert_eq!(c.insert(item("r"), &Position::Root).unwrap(), None);
        assert_eq!(
            c.insert(item("x"), &Position::After("a".to_owned()))
                .unwrap(),
            Some("a".to_owned())
        );
        assert!(
            c.insert(item("y"), &Position::After("zz".to_owned()))
                .is_err()
        );
        assert_eq!(c.last_id().as_deref(), Some("b"));
        assert!(c.remove("x").is_ok());
        assert_eq!(c.len(), 3);
    }
}
