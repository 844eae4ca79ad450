//! Unattended runs: an input fetched from a URL ([`download`]), the job's
//! memory between runs ([`state`]: the content imported last time and the
//! products this job created), the guards checked over the whole file before
//! anything is written ([`guard`]), and the watch on outcomes that keeps the
//! state and the JSON log up to date ([`observe`]).
//!
//! Products no longer in the file are found and retired by [`missing`].

pub mod download;
pub mod guard;
pub mod missing;
pub mod observe;
pub mod state;

pub use download::{FeedAuth, FeedSource};
pub use guard::{Census, Threshold};
pub use state::JobState;
