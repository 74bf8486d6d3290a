//! Async (tokio) wrapper: the blocking handle runs on tokio's blocking pool, one call at a time.

use crate::client::{Handle, HandleOptions};
use crate::error::{Error, Result};
use crate::reconcile::{Operation, Report, Scope};
use crate::types::*;
use std::sync::{Arc, Mutex};

/// Cloneable async handle; calls are serialised on one underlying `Handle`.
#[derive(Clone, Debug)]
pub struct AsyncHandle {
    inner: Arc<Mutex<Handle>>,
}

impl AsyncHandle {
    /// Open in the current network namespace.
    pub async fn new() -> Result<Self> {
        Self::open(None, HandleOptions::default()).await
    }

    /// Open with options, optionally inside the network namespace at `netns`.
    pub async fn open(netns: Option<std::path::PathBuf>, opts: HandleOptions) -> Result<Self> {
        let h = tokio::task::spawn_blocking(move || match netns {
            Some(p) => Handle::in_netns_with_options(p, opts),
            None => Handle::with_options(opts),
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
        Ok(Self::from_handle(h))
    }

    pub fn from_handle(h: Handle) -> Self {
        AsyncHandle {
            inner: Arc::new(Mutex::new(h)),
        }
    }

    /// Run any blocking-handle call on the blocking pool.
    pub async fn call<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Handle) -> Result<R> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut h = inner.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut h)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }

    pub async fn info(&self) -> Result<Info> {
        self.call(|h| h.info()).await
    }
    pub async fn services(&self) -> Result<Vec<ServiceInfo>> {
        self.call(|h| h.services()).await
    }
    pub async fn destinations(&self, key: ServiceKey) -> Result<Vec<DestinationInfo>> {
        self.call(move |h| h.destinations(&key)).await
    }
    pub async fn apply(&self, ops: Vec<Operation>) -> Result<Vec<Result<()>>> {
        self.call(move |h| h.apply(&ops)).await
    }
    pub async fn reconcile(&self, desired: Vec<VirtualService>, scope: Scope) -> Result<Report> {
        self.call(move |h| crate::reconcile::reconcile(h, &desired, &scope))
            .await
    }
    pub async fn flush(&self) -> Result<()> {
        self.call(|h| h.flush()).await
    }
}
