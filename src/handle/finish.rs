//! The adapters' save at the end of a request: after the handler's
//! response, or after its error.

use std::time::SystemTime;

use http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::SessionHandle;
use crate::error::Error;
use crate::manager::{Saved, SetCookies};
use crate::session::Session;

/// The final save, after the handler: saves the handle's session into
/// `headers`, which then carry at most one `Set-Cookie` for the session:
/// this save's, or else the one a save during the handler wrote
/// ([`SessionHandle::save`]). The session is taken out so no lock is held
/// across the save, and put back after it.
pub(crate) async fn save_into<T>(
    handle: &SessionHandle<T>,
    headers: &mut impl SetCookies,
    server_error: bool,
) -> Result<Saved, Error>
where
    T: Serialize + DeserializeOwned + Default + 'static,
{
    let _turn = handle.shared.busy.enter().await;
    let before = set_cookies(headers);
    let mut taken = handle.take();
    let saved = match taken.session() {
        Some(session) if saves(session, server_error) => {
            (handle.shared.manager)
                .save_to(session, headers, SystemTime::now())
                .await
        }
        _ => Ok(Saved::Unchanged),
    };
    drop(taken);
    keep_earlier(handle, headers, before, saved)
}

/// [`save_into`] without waiting, when it need not wait: a manager without
/// a store (whose save never waits) and no save or reload of the handle
/// under way. The session is saved where it is, under its lock, which no
/// `.await` can hold. `None` when the save must be awaited.
pub(crate) fn save_into_now<T>(
    handle: &SessionHandle<T>,
    headers: &mut impl SetCookies,
    server_error: bool,
) -> Option<Result<Saved, Error>>
where
    T: Serialize + DeserializeOwned + Default + 'static,
{
    let manager = &handle.shared.manager;
    if manager.store().is_some() {
        return None;
    }
    let _turn = handle.shared.busy.try_enter()?;
    let before = set_cookies(headers);
    let saved = {
        let mut session = handle.lock();
        if saves(&session, server_error) {
            manager.save_sync_to(&mut session, headers, SystemTime::now())
        } else {
            Ok(Saved::Unchanged)
        }
    };
    Some(keep_earlier(handle, headers, before, saved))
}

/// Whether the final save writes `session`: a server error saves nothing
/// the handler did (its changes, a new subject, a regenerate: a login that
/// fails half-way leaves the client with the cookie it came with) except a
/// destroy: a sign-out is never undone by an error.
fn saves<T>(session: &Session<T>, server_error: bool) -> bool {
    !server_error || session.is_destroyed()
}

/// How many values `headers` hold: a save appends only `Set-Cookie`
/// lines, so a change in this count is a cookie written (no scan of the
/// response's headers).
fn set_cookies(headers: &impl SetCookies) -> usize {
    headers.values()
}

/// After a final save that succeeded without writing a cookie, the one a
/// save during the handler wrote goes out instead.
fn keep_earlier<T>(
    handle: &SessionHandle<T>,
    headers: &mut impl SetCookies,
    before: usize,
    saved: Result<Saved, Error>,
) -> Result<Saved, Error> {
    let wrote = set_cookies(headers) > before;
    if saved.is_ok()
        && !wrote
        && let Some(earlier) = handle.written()
    {
        headers.append_value(&earlier);
    }
    saved
}

/// After a handler error: when the session was destroyed, saves it into a
/// throwaway header map, which deletes its store entry (there is no response
/// to carry the removal cookie). Best effort: the handler's error is what
/// the caller gets, so a store failure here is dropped.
pub(crate) async fn delete_if_destroyed<T>(handle: &SessionHandle<T>)
where
    T: Serialize + DeserializeOwned + Default + 'static,
{
    let _turn = handle.shared.busy.enter().await;
    let mut taken = handle.take();
    if let Some(session) = taken.session().filter(|s| s.is_destroyed()) {
        let _ = handle
            .shared
            .manager
            .save(session, &mut HeaderMap::new())
            .await;
    }
}
