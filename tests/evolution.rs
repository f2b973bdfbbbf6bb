//! The session type changes between releases: which changes old cookies and
//! stored values survive with nothing declared, which need a migration (and
//! work with one), and which are refused with their reason. Each case runs
//! for a session in the cookie and one spilled to the store.
//!
//! | change | with nothing declared | with a migration |
//! |---|---|---|
//! | defaulted field appended (top level) | opens with the default | - |
//! | defaulted field appended to a nested struct | opens with the default | - |
//! | variant appended to an enum | opens | - |
//! | type renamed | opens | - |
//! | type moved to another module | opens | - |
//! | field appended without a default | `UnknownSchema` | opens, converted |
//! | defaulted field inserted before the end | `UnknownSchema` | opens, converted |
//! | field renamed | `UnknownSchema` | opens, converted |
//! | fields reordered | `UnknownSchema` | opens, converted |
//! | field retyped | `UnknownSchema` | opens, converted |
//! | same-shape swap (two `String`s exchanged) | `UnknownSchema` | opens, converted |
//! | variant inserted before the last | `UnknownSchema` | opens, converted |

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fmt::Debug;
use std::sync::Arc;

use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use sealed_session::store::MemoryStore;
use sealed_session::{
    Codec, CodecBuilder, FreshReason, Key, KeyRing, Location, SchemaId, Session, SessionManager,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What release 1 stored.
mod release1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: u64,
        pub(crate) display_name: String,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
    }

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct Prefs {
        pub(crate) theme: String,
    }

    #[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
    pub(crate) enum Role {
        #[default]
        Member,
        Admin,
    }
}

/// The session release 1 stored: `big` enough to spill to the store.
fn alice(big: bool) -> release1::AppSession {
    release1::AppSession {
        user_id: 7,
        display_name: if big {
            "a".repeat(5000)
        } else {
            "Alice".into()
        },
        email: "alice@example.com".into(),
        prefs: release1::Prefs {
            theme: "dark".into(),
        },
        role: release1::Role::Admin,
    }
}

/// Release 2's session types, one module per change.
mod appended {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::{Prefs, Role};

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: u64,
        pub(crate) display_name: String,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
        #[serde(default)]
        pub(crate) cart_items: u32,
        #[serde(default)]
        pub(crate) last_page: Option<String>,
    }
}

mod nested {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::Role;

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: u64,
        pub(crate) display_name: String,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
    }

    /// Not the last field of its parent: its older values end mid-value.
    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct Prefs {
        pub(crate) theme: String,
        #[serde(default)]
        pub(crate) language: String,
    }
}

mod variant_appended {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::Prefs;

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: u64,
        pub(crate) display_name: String,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
    }

    #[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
    pub(crate) enum Role {
        #[default]
        Member,
        Admin,
        Owner,
    }
}

mod renamed {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct UserSession {
        pub(crate) user_id: u64,
        pub(crate) display_name: String,
        pub(crate) email: String,
        pub(crate) prefs: Preferences,
        pub(crate) role: Access,
    }

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct Preferences {
        pub(crate) theme: String,
    }

    #[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
    pub(crate) enum Access {
        #[default]
        Member,
        Admin,
    }
}

mod moved {
    pub(crate) mod auth {
        pub(crate) mod session {
            use serde::{Deserialize, Serialize};

            pub(crate) use crate::release1::{Prefs, Role};

            #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
            pub(crate) struct AppSession {
                pub(crate) user_id: u64,
                pub(crate) display_name: String,
                pub(crate) email: String,
                pub(crate) prefs: Prefs,
                pub(crate) role: Role,
            }
        }
    }
}

mod without_default {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::{Prefs, Role};

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: u64,
        pub(crate) display_name: String,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
        pub(crate) cart_items: u32,
    }
}

mod inserted {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::{Prefs, Role};

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: u64,
        #[serde(default)]
        pub(crate) cart_items: u32,
        pub(crate) display_name: String,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
    }
}

mod field_renamed {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::{Prefs, Role};

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: u64,
        pub(crate) name: String,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
    }
}

mod reordered {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::{Prefs, Role};

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) display_name: String,
        pub(crate) user_id: u64,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
    }
}

mod retyped {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::{Prefs, Role};

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: String,
        pub(crate) display_name: String,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
    }
}

mod swapped {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::{Prefs, Role};

    /// The same wire shape: read blindly, the name would be the email.
    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: u64,
        pub(crate) email: String,
        pub(crate) display_name: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
    }
}

mod variant_inserted {
    use serde::{Deserialize, Serialize};

    pub(crate) use super::release1::Prefs;

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AppSession {
        pub(crate) user_id: u64,
        pub(crate) display_name: String,
        pub(crate) email: String,
        pub(crate) prefs: Prefs,
        pub(crate) role: Role,
    }

    /// Read blindly, an old `Admin` would be a `Guest`.
    #[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
    pub(crate) enum Role {
        #[default]
        Member,
        Guest,
        Admin,
    }
}

/// One deployment's keys and store, shared by its releases.
struct World {
    ring: KeyRing,
    store: Arc<MemoryStore>,
}

impl World {
    fn new() -> Self {
        Self {
            ring: KeyRing::new([Key::generate()]).unwrap(),
            store: Arc::new(MemoryStore::new()),
        }
    }

    fn release(&self, codec: impl FnOnce(CodecBuilder) -> CodecBuilder) -> SessionManager {
        SessionManager::with_codec(codec(Codec::builder(self.ring.clone())).build().unwrap())
            .store(self.store.clone())
            .build()
            .unwrap()
    }
}

/// Saves `data` as a new session; the next request's headers.
async fn saved<T>(manager: &SessionManager, data: T) -> HeaderMap
where
    T: Serialize + DeserializeOwned + Default + 'static,
{
    let mut session: Session<T> = manager.load(&HeaderMap::new()).await.unwrap();
    session.set(data);
    let mut response = HeaderMap::new();
    manager.save(&mut session, &mut response).await.unwrap();
    let line = response[SET_COOKIE].to_str().unwrap();
    let mut request = HeaderMap::new();
    request.insert(COOKIE, line.split(';').next().unwrap().parse().unwrap());
    request
}

fn location(big: bool) -> Location {
    if big {
        Location::Store
    } else {
        Location::Cookie
    }
}

/// A change old sessions survive with nothing declared: release 2 opens
/// release 1's session as `expected`, and its next save seals it under
/// `New`'s schema.
async fn opens<New>(big: bool, expected: New)
where
    New: Serialize + DeserializeOwned + Default + PartialEq + Debug + Clone + 'static,
{
    let world = World::new();
    let request = saved(&world.release(|c| c), alice(big)).await;
    let release2 = world.release(|c| c);
    let mut session: Session<New> = release2.load(&request).await.unwrap();
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(session.location(), location(big));
    assert_eq!(*session, expected);
    let with = session.opened_with().unwrap();
    let same_schema = with.schema() == Some(SchemaId::of::<New>());
    assert_eq!(
        same_schema,
        SchemaId::of::<New>() == SchemaId::of::<release1::AppSession>()
    );
    assert_eq!(with.needs_reseal(), !same_schema);
    // Touched, so the session is written back (a read-only request would
    // re-seal it all the same when its schema changed).
    session.set(expected.clone());
    let mut response = HeaderMap::new();
    release2.save(&mut session, &mut response).await.unwrap();
    let line = response[SET_COOKIE].to_str().unwrap();
    let mut next = HeaderMap::new();
    next.insert(COOKIE, line.split(';').next().unwrap().parse().unwrap());
    let again: Session<New> = release2.load(&next).await.unwrap();
    assert_eq!(*again, expected);
    let with = again.opened_with().unwrap();
    assert_eq!(with.schema(), Some(SchemaId::of::<New>()));
    assert!(!with.needs_reseal());
}

/// A change old sessions do not survive alone: without a migration they
/// load fresh as `UnknownSchema`; with `migrate` declared they open
/// converted.
async fn needs_migration<New>(big: bool, migrate: fn(release1::AppSession) -> New)
where
    New: Serialize + DeserializeOwned + Default + PartialEq + Debug + 'static,
{
    let world = World::new();
    let request = saved(&world.release(|c| c), alice(big)).await;
    let lost: Session<New> = world.release(|c| c).load(&request).await.unwrap();
    assert_eq!(lost.fresh_reason(), Some(FreshReason::UnknownSchema));
    assert_eq!(*lost, New::default());
    let release2 = world.release(|c| c.migrate(migrate));
    let session: Session<New> = release2.load(&request).await.unwrap();
    assert_eq!(session.fresh_reason(), None);
    assert_eq!(session.location(), location(big));
    assert_eq!(*session, migrate(alice(big)));
    assert!(session.opened_with().unwrap().is_migrated());
}

macro_rules! both_locations {
    ($($name:ident => |$big:ident| $body:expr;)*) => {$(
        mod $name {
            #[tokio::test]
            async fn in_the_cookie() {
                let $big = false;
                $body.await;
            }

            #[tokio::test]
            async fn in_the_store() {
                let $big = true;
                $body.await;
            }
        }
    )*};
}

both_locations! {
    a_defaulted_field_appended_opens_with_its_default => |big| {
        let a = super::alice(big);
        super::opens(big, super::appended::AppSession {
            user_id: a.user_id,
            display_name: a.display_name,
            email: a.email,
            prefs: a.prefs,
            role: a.role,
            cart_items: 0,
            last_page: None,
        })
    };
    a_defaulted_field_appended_to_a_nested_struct_opens_with_its_default => |big| {
        let a = super::alice(big);
        super::opens(big, super::nested::AppSession {
            user_id: a.user_id,
            display_name: a.display_name,
            email: a.email,
            prefs: super::nested::Prefs { theme: a.prefs.theme, language: String::new() },
            role: a.role,
        })
    };
    a_variant_appended_opens => |big| {
        let a = super::alice(big);
        super::opens(big, super::variant_appended::AppSession {
            user_id: a.user_id,
            display_name: a.display_name,
            email: a.email,
            prefs: a.prefs,
            role: super::variant_appended::Role::Admin,
        })
    };
    a_renamed_type_opens => |big| {
        let a = super::alice(big);
        super::opens(big, super::renamed::UserSession {
            user_id: a.user_id,
            display_name: a.display_name,
            email: a.email,
            prefs: super::renamed::Preferences { theme: a.prefs.theme },
            role: super::renamed::Access::Admin,
        })
    };
    a_moved_type_opens => |big| {
        let a = super::alice(big);
        super::opens(big, super::moved::auth::session::AppSession {
            user_id: a.user_id,
            display_name: a.display_name,
            email: a.email,
            prefs: a.prefs,
            role: a.role,
        })
    };
    a_field_appended_without_a_default_needs_a_migration => |big| {
        super::needs_migration(big, |a| super::without_default::AppSession {
            user_id: a.user_id,
            display_name: a.display_name,
            email: a.email,
            prefs: a.prefs,
            role: a.role,
            cart_items: 3,
        })
    };
    a_defaulted_field_inserted_before_the_end_needs_a_migration => |big| {
        super::needs_migration(big, |a| super::inserted::AppSession {
            user_id: a.user_id,
            cart_items: 3,
            display_name: a.display_name,
            email: a.email,
            prefs: a.prefs,
            role: a.role,
        })
    };
    a_renamed_field_needs_a_migration => |big| {
        super::needs_migration(big, |a| super::field_renamed::AppSession {
            user_id: a.user_id,
            name: a.display_name,
            email: a.email,
            prefs: a.prefs,
            role: a.role,
        })
    };
    reordered_fields_need_a_migration => |big| {
        super::needs_migration(big, |a| super::reordered::AppSession {
            display_name: a.display_name,
            user_id: a.user_id,
            email: a.email,
            prefs: a.prefs,
            role: a.role,
        })
    };
    a_retyped_field_needs_a_migration => |big| {
        super::needs_migration(big, |a| super::retyped::AppSession {
            user_id: a.user_id.to_string(),
            display_name: a.display_name,
            email: a.email,
            prefs: a.prefs,
            role: a.role,
        })
    };
    a_same_shape_swap_is_not_read_blindly_and_needs_a_migration => |big| {
        super::needs_migration(big, |a| super::swapped::AppSession {
            user_id: a.user_id,
            email: a.email,
            display_name: a.display_name,
            prefs: a.prefs,
            role: a.role,
        })
    };
    a_variant_inserted_before_the_last_is_not_read_blindly_and_needs_a_migration => |big| {
        super::needs_migration(big, |a| super::variant_inserted::AppSession {
            user_id: a.user_id,
            display_name: a.display_name,
            email: a.email,
            prefs: a.prefs,
            role: match a.role {
                super::release1::Role::Member => super::variant_inserted::Role::Member,
                super::release1::Role::Admin => super::variant_inserted::Role::Admin,
            },
        })
    };
}

/// Random trailing additions: a session type grows one defaulted field at
/// a time (`Grown0` has none of them, `Grown5` all five, the third a nested
/// struct that itself grew, the fourth an enum that gained a variant).
/// Every value sealed for an older definition opens as every newer one,
/// with the defaults for what it lacked; a newer value never opens as an
/// older definition.
mod grown {
    use proptest::prelude::*;
    use sealed_session::{Codec, ErrorKind, Key, KeyRing};
    use serde::{Deserialize, Serialize};

    /// A nested struct before and after it grew.
    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct Address {
        pub(crate) city: String,
    }

    #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
    pub(crate) struct AddressGrown {
        pub(crate) city: String,
        #[serde(default)]
        pub(crate) zip: Option<u32>,
    }

    #[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
    pub(crate) enum Plan {
        #[default]
        Free,
        Pro,
    }

    #[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq)]
    pub(crate) enum PlanGrown {
        #[default]
        Free,
        Pro,
        Team,
    }

    /// Every field any definition has, as the newest holds them.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub(crate) struct Full {
        pub(crate) user_id: u64,
        pub(crate) name: String,
        pub(crate) tags: Vec<u16>,
        pub(crate) address: AddressGrown,
        pub(crate) plan: PlanGrown,
        pub(crate) visits: u32,
    }

    /// A definition: the first `FIELDS` defaulted fields, the nested struct
    /// and the enum as they were then.
    pub(crate) trait Grown: Serialize + serde::de::DeserializeOwned + 'static {
        const FIELDS: usize;
        /// The fields this definition has, taken from `full` (a grown
        /// nested struct or enum taken as its older self fits).
        fn from_full(full: &Full) -> Self;
        /// As the newest holds it: what this definition lacks at its
        /// default.
        fn to_full(&self) -> Full;
    }

    macro_rules! grown {
        ($name:ident, $fields:literal, { $($field:ident: $ty:ty),* }) => {
            #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
            pub(crate) struct $name {
                pub(crate) user_id: u64,
                $(#[serde(default)] pub $field: $ty,)*
            }

            impl Grown for $name {
                const FIELDS: usize = $fields;
                #[allow(unused_variables)]
                fn from_full(full: &Full) -> Self {
                    Self { user_id: full.user_id, $($field: Conv::take(&full.$field),)* }
                }
                fn to_full(&self) -> Full {
                    #[allow(unused_mut)]
                    let mut full = Full { user_id: self.user_id, ..Full::default() };
                    $(full.$field = Conv::give(&self.$field);)*
                    full
                }
            }
        };
    }

    /// A field's value between a definition and the newest.
    pub(crate) trait Conv<F> {
        fn take(full: &F) -> Self;
        fn give(&self) -> F;
    }

    impl<T: Clone> Conv<T> for T {
        fn take(full: &T) -> Self {
            full.clone()
        }
        fn give(&self) -> T {
            self.clone()
        }
    }

    impl Conv<AddressGrown> for Address {
        fn take(full: &AddressGrown) -> Self {
            Self {
                city: full.city.clone(),
            }
        }
        fn give(&self) -> AddressGrown {
            AddressGrown {
                city: self.city.clone(),
                zip: None,
            }
        }
    }

    impl Conv<PlanGrown> for Plan {
        fn take(full: &PlanGrown) -> Self {
            match full {
                PlanGrown::Free => Self::Free,
                PlanGrown::Pro | PlanGrown::Team => Self::Pro,
            }
        }
        fn give(&self) -> PlanGrown {
            match self {
                Self::Free => PlanGrown::Free,
                Self::Pro => PlanGrown::Pro,
            }
        }
    }

    grown!(Grown0, 0, {});
    grown!(Grown1, 1, { name: String });
    grown!(Grown2, 2, { name: String, tags: Vec<u16> });
    grown!(Grown3, 3,
        { name: String, tags: Vec<u16>, address: Address });
    grown!(Grown3b, 3,
        { name: String, tags: Vec<u16>, address: AddressGrown });
    grown!(Grown4, 4,
        { name: String, tags: Vec<u16>, address: AddressGrown, plan: Plan });
    grown!(Grown4b, 4,
        { name: String, tags: Vec<u16>, address: AddressGrown, plan: PlanGrown });
    grown!(Grown5, 5,
        { name: String, tags: Vec<u16>, address: AddressGrown, plan: PlanGrown, visits: u32 });

    /// The definitions, oldest first.
    const DEFINITIONS: usize = 8;

    /// Seals definition `old`'s part of `full` and opens it as definition
    /// `new`: what it opened as, in the newest's terms.
    fn reseal(codec: &Codec, old: usize, new: usize, full: &Full) -> Result<Full, ErrorKind> {
        fn seal<T: Grown>(codec: &Codec, full: &Full) -> String {
            codec.seal(&T::from_full(full)).unwrap().into_value()
        }
        fn open<T: Grown>(codec: &Codec, value: &str) -> Result<Full, ErrorKind> {
            codec
                .open::<T>(value)
                .map(|o| o.value().to_full())
                .map_err(|e| e.kind())
        }
        let value = match old {
            0 => seal::<Grown0>(codec, full),
            1 => seal::<Grown1>(codec, full),
            2 => seal::<Grown2>(codec, full),
            3 => seal::<Grown3>(codec, full),
            4 => seal::<Grown3b>(codec, full),
            5 => seal::<Grown4>(codec, full),
            6 => seal::<Grown4b>(codec, full),
            _ => seal::<Grown5>(codec, full),
        };
        match new {
            0 => open::<Grown0>(codec, &value),
            1 => open::<Grown1>(codec, &value),
            2 => open::<Grown2>(codec, &value),
            3 => open::<Grown3>(codec, &value),
            4 => open::<Grown3b>(codec, &value),
            5 => open::<Grown4>(codec, &value),
            6 => open::<Grown4b>(codec, &value),
            _ => open::<Grown5>(codec, &value),
        }
    }

    /// Definition `k`'s view of `full`, in the newest's terms.
    fn as_definition(k: usize, full: &Full) -> Full {
        match k {
            0 => Grown0::from_full(full).to_full(),
            1 => Grown1::from_full(full).to_full(),
            2 => Grown2::from_full(full).to_full(),
            3 => Grown3::from_full(full).to_full(),
            4 => Grown3b::from_full(full).to_full(),
            5 => Grown4::from_full(full).to_full(),
            6 => Grown4b::from_full(full).to_full(),
            _ => Grown5::from_full(full).to_full(),
        }
    }

    fn full() -> impl Strategy<Value = Full> {
        (
            any::<u64>(),
            ".{0,12}",
            proptest::collection::vec(any::<u16>(), 0..4),
            ("[a-z]{0,8}", proptest::option::of(any::<u32>())),
            0..3u8,
            any::<u32>(),
        )
            .prop_map(|(user_id, name, tags, (city, zip), plan, visits)| Full {
                user_id,
                name,
                tags,
                address: AddressGrown { city, zip },
                plan: match plan {
                    0 => PlanGrown::Free,
                    1 => PlanGrown::Pro,
                    _ => PlanGrown::Team,
                },
                visits,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_older_value_opens_as_every_newer_definition_with_defaults(
            full in full(),
            old in 0..DEFINITIONS,
            new in 0..DEFINITIONS,
        ) {
            let codec = Codec::builder(KeyRing::new([Key::generate()]).unwrap()).build().unwrap();
            let opened = reseal(&codec, old, new, &full);
            if new >= old {
                // What the old definition held, and defaults for the rest.
                prop_assert_eq!(opened, Ok(as_definition(old, &full)));
            } else {
                prop_assert!(
                    matches!(opened, Err(ErrorKind::UnknownSchema { .. })),
                    "{:?}", opened
                );
            }
        }
    }

    #[test]
    fn the_definitions_are_distinct_schemas() {
        use sealed_session::SchemaId;
        let ids = [
            SchemaId::of::<Grown0>(),
            SchemaId::of::<Grown1>(),
            SchemaId::of::<Grown2>(),
            SchemaId::of::<Grown3>(),
            SchemaId::of::<Grown3b>(),
            SchemaId::of::<Grown4>(),
            SchemaId::of::<Grown4b>(),
            SchemaId::of::<Grown5>(),
        ];
        for (i, a) in ids.iter().enumerate() {
            assert!(ids[i + 1..].iter().all(|b| a != b), "{i}");
        }
        assert_eq!(Grown5::FIELDS, 5);
        assert_eq!(Grown0::FIELDS, 0);
    }
}

/// The schema lock a test suite keeps: it passes through the changes old
/// sessions survive and fails, saying what to declare, on one they do not.
mod lock {
    use std::path::PathBuf;

    use sealed_session::schema_lock::{LockStatus, SchemaLock, SchemaLockError};
    use sealed_session::{Codec, Key, KeyRing, SchemaId};

    use super::{appended, field_renamed, release1, renamed};

    /// A fresh directory for one test's lock file.
    fn lock_path(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sealed-session-lock-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("session.schema")
    }

    fn codec() -> Codec {
        Codec::builder(KeyRing::new([Key::generate()]).unwrap())
            .build()
            .unwrap()
    }

    #[test]
    fn records_the_schema_and_passes_through_additions_and_renames() {
        let path = lock_path("additions");
        let lock = SchemaLock::new(&path).update(true);
        assert_eq!(
            lock.check::<release1::AppSession>(&codec()).unwrap(),
            LockStatus::Updated
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let id = SchemaId::of::<release1::AppSession>().to_string();
        let line = text.lines().find(|l| l.starts_with(&id)).unwrap();
        assert!(
            line.contains("struct(user_id display_name email prefs role)"),
            "{line}"
        );
        assert_eq!(
            lock.check::<release1::AppSession>(&codec()).unwrap(),
            LockStatus::Unchanged
        );
        // Renamed: the same schema.
        assert_eq!(
            lock.check::<renamed::UserSession>(&codec()).unwrap(),
            LockStatus::Unchanged
        );
        // Defaulted fields appended: a new schema that opens the old one.
        // Without leave to write, the check says which line to add.
        let frozen = SchemaLock::new(&path).update(false);
        let err = frozen.check::<appended::AppSession>(&codec()).unwrap_err();
        let new_id = SchemaId::of::<appended::AppSession>().to_string();
        assert!(matches!(err, SchemaLockError::Outdated { .. }), "{err}");
        assert!(err.to_string().contains(&new_id), "{err}");
        assert_eq!(
            lock.check::<appended::AppSession>(&codec()).unwrap(),
            LockStatus::Updated
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(&id) && text.contains(&new_id), "{text}");
        assert_eq!(
            frozen.check::<appended::AppSession>(&codec()).unwrap(),
            LockStatus::Unchanged
        );
        // Going back is a change old (newer) values do not survive.
        let err = frozen.check::<release1::AppSession>(&codec()).unwrap_err();
        assert!(matches!(err, SchemaLockError::Unreadable { .. }), "{err}");
    }

    #[test]
    fn fails_on_a_change_old_sessions_do_not_survive_and_says_what_to_declare() {
        let path = lock_path("rename");
        let lock = SchemaLock::new(&path).update(true);
        lock.check::<release1::AppSession>(&codec()).unwrap();
        let err = lock
            .check::<field_renamed::AppSession>(&codec())
            .unwrap_err();
        let SchemaLockError::Unreadable { schemas, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(schemas.len(), 1);
        assert_eq!(schemas[0].schema, SchemaId::of::<release1::AppSession>());
        let message = err.to_string();
        for part in [
            "can no longer open",
            "struct(user_id display_name email prefs role)",
            "its shape now: struct(user_id name email prefs role)",
            ".migrate(|old: OldSession|",
            "evolution::field_renamed::AppSession",
        ] {
            assert!(message.contains(part), "{part:?} missing from: {message}");
        }
        // Nothing written on a failure.
        assert_eq!(
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#'))
                .count(),
            1
        );
        // With the migration declared, it passes (and records the new one).
        let migrating = Codec::builder(KeyRing::new([Key::generate()]).unwrap())
            .migrate(|old: release1::AppSession| field_renamed::AppSession {
                user_id: old.user_id,
                name: old.display_name,
                email: old.email,
                prefs: old.prefs,
                role: old.role,
            })
            .build()
            .unwrap();
        assert_eq!(
            lock.check::<field_renamed::AppSession>(&migrating).unwrap(),
            LockStatus::Updated
        );
    }

    #[test]
    fn a_line_that_is_not_a_schema_is_an_error_with_its_number() {
        let path = lock_path("malformed");
        std::fs::write(&path, "# comment\n\nfe8ef173 struct()\nnot-a-schema\n").unwrap();
        let err = SchemaLock::new(&path)
            .update(true)
            .check::<release1::AppSession>(&codec())
            .unwrap_err();
        assert!(
            matches!(err, SchemaLockError::Malformed { line: 4, .. }),
            "{err}"
        );
    }
}

/// An axum app as the README builds it, deployed again with its session
/// type renamed and a defaulted field appended: the signed-in user stays
/// signed in, with their data.
#[cfg(feature = "axum")]
mod deploy {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::header::{COOKIE, SET_COOKIE};
    use http::{Request, StatusCode};
    use sealed_session::axum::{SessionHandle, SessionLayer, SignedIn};
    use sealed_session::{Key, KeyRing, SessionManager};
    use serde::{Deserialize, Serialize};
    use tower::ServiceExt as _;

    /// Release 1's session.
    #[derive(Default, Serialize, Deserialize)]
    struct AppSession {
        visits: u32,
    }

    /// Release 2: renamed, a field appended.
    #[derive(Default, Serialize, Deserialize)]
    struct VisitorSession {
        visits: u32,
        #[serde(default)]
        theme: Option<String>,
    }

    async fn login(session: SessionHandle<AppSession>) -> StatusCode {
        session.update(|s| s.visits = 41);
        match session.login("user:alice") {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::BAD_REQUEST,
        }
    }

    async fn visit(SignedIn(user): SignedIn, session: SessionHandle<VisitorSession>) -> String {
        let visits = session.update(|s| {
            s.visits += 1;
            s.visits
        });
        format!("{user} {visits} {:?}", session.read(|s| s.theme.clone()))
    }

    async fn call(app: Router, path: &str, cookie: Option<&str>) -> http::Response<Body> {
        let mut request = Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        app.oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_signed_in_user_survives_renaming_the_session_type_and_adding_a_field() {
        let ring = KeyRing::new([Key::generate()]).unwrap();
        let manager = || SessionManager::builder(ring.clone()).build().unwrap();
        let release1 = Router::new()
            .route("/login", get(login))
            .layer(SessionLayer::<AppSession>::new(manager()));
        let response = call(release1, "/login", None).await;
        let line = response.headers()[SET_COOKIE].to_str().unwrap();
        let cookie = line.split(';').next().unwrap().to_owned();

        let release2 = Router::new()
            .route("/", get(visit))
            .layer(SessionLayer::<VisitorSession>::new(manager()));
        let response = call(release2, "/", Some(&cookie)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"user:alice 42 None");
    }
}
