//! The Powercloud simulator over real HTTP: auth, records, paging, faults and the change stream.

mod auth;
mod changes;
mod faults;
mod paging;
mod records;
