//! One server owns the SQLite file: nobody to tell, and every job is its own.

use super::SqliteStore;
use crate::store::StoreError;
use crate::store::changes::{ChangeFeed, Job, Leadership, Listener, Notice};

#[derive(Debug)]
struct Alone;

impl Leadership for Alone {
    fn still_held(&mut self) -> bool {
        true
    }
}

impl ChangeFeed for SqliteStore {
    fn announce(&self, _notice: &Notice) -> Result<(), StoreError> {
        Ok(())
    }

    fn listen(&self) -> Result<Option<Box<dyn Listener>>, StoreError> {
        Ok(None)
    }

    fn try_lead(&self, _job: Job) -> Result<Option<Box<dyn Leadership>>, StoreError> {
        Ok(Some(Box::new(Alone)))
    }
}
