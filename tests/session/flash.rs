//! Flash messages across requests (post/redirect/get): set, shown once,
//! gone; a page without a message writes no cookie; the map session's
//! flashes never collide with its data.

use http::HeaderMap;
use sealed_session::{Flash, MapSession, Saved, Session};
use serde::{Deserialize, Serialize};

use crate::fixtures::{at, load_sync_at, manager, next_request, save_sync_at};

#[derive(Default, Serialize, Deserialize)]
struct App {
    visits: u32,
    notice: Flash<String>,
}

#[test]
fn a_flash_is_shown_on_the_next_request_only() {
    let manager = manager();
    // POST: change something, set the notice, redirect.
    let mut post: Session<App> = load_sync_at(&manager, &HeaderMap::new(), at(0));
    post.data_mut().visits = 1;
    post.data_mut().notice.set("Saved".to_owned());
    let (_, response) = save_sync_at(&manager, &mut post, at(0));

    // GET after the redirect: the notice, once.
    let request = next_request(&response);
    let mut get: Session<App> = load_sync_at(&manager, &request, at(1));
    assert_eq!(get.notice.peek().map(String::as_str), Some("Saved"));
    assert!(!get.is_changed(), "peeking changes nothing");
    assert_eq!(
        Flash::take(&mut get, |s| &mut s.notice).as_deref(),
        Some("Saved")
    );
    assert!(get.is_changed(), "taking it must write the session");
    let (saved, response) = save_sync_at(&manager, &mut get, at(1));
    assert!(matches!(saved, Saved::Cookie { .. }), "{saved:?}");

    // The next page: gone, and nothing to write.
    let mut next: Session<App> = load_sync_at(&manager, &next_request(&response), at(2));
    assert_eq!(Flash::take(&mut next, |s| &mut s.notice), None);
    assert!(!next.is_changed());
    assert_eq!(next.visits, 1, "the rest of the session stays");
    assert_eq!(save_sync_at(&manager, &mut next, at(2)).0, Saved::Unchanged);
}

#[test]
fn a_map_sessions_flash_is_shown_once_and_leaves_its_data_alone() {
    let manager = manager();
    let mut post: MapSession = load_sync_at(&manager, &HeaderMap::new(), at(0));
    post.insert("notice", "data, not a flash").unwrap();
    post.insert_flash("notice", "Saved").unwrap();
    let (_, response) = save_sync_at(&manager, &mut post, at(0));

    let mut get: MapSession = load_sync_at(&manager, &next_request(&response), at(1));
    assert_eq!(
        get.take_flash::<String>("notice").unwrap().as_deref(),
        Some("Saved")
    );
    assert_eq!(get.take_flash::<String>("notice").unwrap(), None);
    assert_eq!(
        get.get::<String>("notice").unwrap().as_deref(),
        Some("data, not a flash")
    );
    let (_, response) = save_sync_at(&manager, &mut get, at(1));

    let mut next: MapSession = load_sync_at(&manager, &next_request(&response), at(2));
    assert_eq!(next.take_flash::<String>("notice").unwrap(), None);
    assert!(!next.is_changed());
}
