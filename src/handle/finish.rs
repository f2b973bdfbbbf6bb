//! The adapters' save at the end of a request: after the handler's
//! response, or after its error.

use std::time::SystemTime;

use http::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use std::future::Future;

use http::HeaderValue;

use super::{LazySession, SessionError, SessionHandle};
use crate::error::Error;
use crate::manager::{Saved, SetCookies};
use crate::session::Session;

/// A framework's response, as the wrappers finish it.
pub(crate) trait Respond: Sized {
    /// Its header map, which a save writes `Set-Cookie` lines into.
    type Headers: SetCookies;
    /// What the wrapper answers.
    type Out;

    /// Whether its status is a `5xx`.
    fn is_server_error(&self) -> bool;

    /// Its headers.
    fn headers_mut(&mut self) -> &mut Self::Headers;

    /// The response, as the wrapper answers it.
    fn answer(self) -> Self::Out;

    /// The `500` answered instead when the save failed: `error` in its
    /// extensions, and `earlier` (the cookie of a save made during the
    /// handler: the store already holds what it points to) in its headers.
    fn save_failed(self, error: SessionError, earlier: Option<HeaderValue>) -> Self::Out;
}

/// How a wrapper finishes a request once the inner service answered
/// `result`: the session saved if the handler loaded it (on an error, a
/// destroyed session's store entry deleted). `Ok` with the answer when
/// nothing had to wait; else `Err` with the future that waits on the
/// store, for the wrapper to box.
pub(crate) fn finish<T, R, E>(
    lazy: &LazySession<T>,
    mut result: Result<R, E>,
    save_on_server_error: bool,
) -> Result<Result<R::Out, E>, impl Future<Output = Result<R::Out, E>> + use<T, R, E>>
where
    T: Serialize + DeserializeOwned + Default + 'static,
    R: Respond,
{
    // Not loaded: nothing to save. Failed to load: the extractor answered
    // (or the service did), and there is nothing to save.
    let Some(Ok(handle)) = lazy.loaded() else {
        return Ok(result.map(R::answer));
    };
    if let Ok(response) = &mut result {
        let skip = response.is_server_error() && !save_on_server_error;
        if let Some(saved) = save_into_now(&handle, response.headers_mut(), skip) {
            return Ok(result.map(|response| settle(&handle, response, saved)));
        }
    }
    Err(async move {
        match result {
            Err(e) => {
                delete_if_destroyed(&handle).await;
                Err(e)
            }
            Ok(mut response) => {
                let skip = response.is_server_error() && !save_on_server_error;
                let saved = save_into(&handle, response.headers_mut(), skip).await;
                Ok(settle(&handle, response, saved))
            }
        }
    })
}

/// The response after the final save: the handler's, or the `500` when the
/// save failed.
fn settle<T, R: Respond>(
    handle: &SessionHandle<T>,
    response: R,
    saved: Result<Saved, Error>,
) -> R::Out {
    match saved {
        Ok(_) => response.answer(),
        Err(e) => response.save_failed(SessionError::new(e), handle.written()),
    }
}

/// The final save, after the handler: saves the handle's session into
/// `headers`, which then carry at most one `Set-Cookie` for the session:
/// this save's, or else the one a save during the handler wrote
/// ([`SessionHandle::save`]). The session is taken out so no lock is held
/// across the save, and put back after it.
async fn save_into<T>(
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
fn save_into_now<T>(
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
async fn delete_if_destroyed<T>(handle: &SessionHandle<T>)
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
